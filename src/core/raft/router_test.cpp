// The router: commands reach the machine they name, retried commands return
// the cached result instead of running again, sessions expire by the time in
// the entries, and the composite snapshot round-trips (and reads the bare
// key-value snapshots and entries of logs from before routing).

#include "core/raft/router.hpp"

#include <gtest/gtest.h>

#include "core/raft/codec.hpp"
#include "core/raft/kv_state_machine.hpp"

namespace idunno::raft {
namespace {

using namespace std::chrono_literals;

std::string entry(std::uint64_t client, std::uint64_t seq, std::string_view machine, std::string_view command,
                  std::uint64_t time_ms = 0, std::uint64_t acked = 0) {
  RoutedEntry e;
  e.client = client;
  e.seq = seq;
  e.acked = acked;
  e.time_ms = time_ms;
  e.machine = machine;
  e.payload = command;
  return encode_routed(e);
}

std::uint64_t open_session(Router& router, Index index, std::uint64_t time_ms = 0) {
  RoutedEntry e;
  e.kind = RoutedKind::register_session;
  e.time_ms = time_ms;
  const auto result = decode_route_result(router.apply(index, encode_routed(e)));
  EXPECT_EQ(result.status, RouteStatus::registered);
  return std::stoull(result.payload);
}

struct TwoMachines {
  KvStateMachine kv;
  KvStateMachine other;
  Router router;
  explicit TwoMachines(RouterOptions options = {}) : router(std::move(options)) {
    router.add("kv", kv);
    router.add("other", other);
  }
};

TEST(Router, CommandsReachTheMachineTheyName) {
  TwoMachines m;
  EXPECT_EQ(decode_route_result(m.router.apply(1, routed_command("kv", kv_put("a", "1")))).status, RouteStatus::ok);
  EXPECT_EQ(decode_route_result(m.router.apply(2, routed_command("other", kv_put("a", "2")))).status,
            RouteStatus::ok);
  EXPECT_EQ(m.kv.get("a"), "1");
  EXPECT_EQ(m.other.get("a"), "2");
  EXPECT_EQ(decode_kv_result(m.router.query_machine("other", kv_get("a"))).value, "2");
  EXPECT_EQ(decode_route_result(m.router.apply(3, routed_command("nope", kv_put("a", "3")))).status,
            RouteStatus::unknown_machine);
  EXPECT_THROW(m.router.query_machine("nope", kv_get("a")), UnknownMachine);
  EXPECT_EQ(decode_route_result(m.router.apply(4, std::string("\xA5\x01\x09", 3))).status, RouteStatus::bad_entry);
}

TEST(Router, ARetriedCommandReturnsTheCachedResultAndRunsOnce) {
  TwoMachines m;
  const auto client = open_session(m.router, 1);
  EXPECT_EQ(client, 1u);
  const auto first = decode_route_result(m.router.apply(2, entry(client, 1, "kv", kv_put("a", "1"))));
  const auto second = decode_route_result(m.router.apply(3, entry(client, 2, "kv", kv_put("a", "2"))));
  // The retry of seq 1 (a later index: the first reply was lost) must not
  // overwrite "2" with "1" again.
  const auto retry = decode_route_result(m.router.apply(4, entry(client, 1, "kv", kv_put("a", "1"))));
  EXPECT_EQ(first.status, RouteStatus::ok);
  EXPECT_EQ(second.status, RouteStatus::ok);
  EXPECT_EQ(retry.status, RouteStatus::duplicate);
  EXPECT_EQ(retry.payload, first.payload);
  EXPECT_EQ(m.kv.get("a"), "2");
  // Once acknowledged, results are dropped; a replay of an answered seq is refused.
  m.router.apply(5, entry(client, 3, "kv", kv_put("b", "1"), 0, /*acked=*/2));
  EXPECT_EQ(m.router.sessions().at(client).results.size(), 1u);
  EXPECT_EQ(decode_route_result(m.router.apply(6, entry(client, 1, "kv", kv_put("a", "1")))).status,
            RouteStatus::already_answered);
  EXPECT_EQ(m.kv.get("a"), "2");
}

TEST(Router, WithoutDeduplicationARetryRunsAgain) {
  RouterOptions options;
  options.deduplicate = false;
  TwoMachines m(options);
  const auto client = open_session(m.router, 1);
  m.router.apply(2, entry(client, 1, "kv", kv_put("a", "1")));
  m.router.apply(3, entry(client, 2, "kv", kv_put("a", "2")));
  m.router.apply(4, entry(client, 1, "kv", kv_put("a", "1")));
  EXPECT_EQ(m.kv.get("a"), "1");
}

TEST(Router, SessionsExpireByTheStampedTimeNotByAClock) {
  RouterOptions options;
  options.session_timeout = 1000ms;
  TwoMachines m(options);
  const auto idle = open_session(m.router, 1, 10'000);
  const auto busy = open_session(m.router, 2, 10'000);
  m.router.apply(3, entry(busy, 1, "kv", kv_put("x", "1"), 10'900));
  // Entries stamped 1.5 s after idle's last command: idle is gone, busy not.
  m.router.apply(4, entry(busy, 2, "kv", kv_put("x", "2"), 11'500));
  EXPECT_FALSE(m.router.sessions().contains(idle));
  EXPECT_TRUE(m.router.sessions().contains(busy));
  const auto expired = decode_route_result(m.router.apply(5, entry(idle, 1, "kv", kv_put("y", "1"), 11'500)));
  EXPECT_EQ(expired.status, RouteStatus::session_expired);
  EXPECT_FALSE(m.kv.get("y"));
  // An entry stamped by a leader whose clock is behind does not move time back.
  m.router.apply(6, entry(busy, 3, "kv", kv_put("x", "3"), 5'000));
  EXPECT_EQ(m.router.cluster_time_ms(), 11'500u);
  EXPECT_TRUE(m.router.sessions().contains(busy));
}

TEST(Router, CompositeSnapshotRoundTripsMachinesAndSessions) {
  TwoMachines m;
  const auto client = open_session(m.router, 1, 777);
  m.router.apply(2, entry(client, 1, "kv", kv_put("a", "1"), 800));
  m.router.apply(3, entry(client, 2, "other", kv_put("b", std::string("\0bin", 4)), 900));
  const auto bytes = m.router.snapshot();
  EXPECT_EQ(bytes, m.router.snapshot()) << "snapshot() is a pure function of the state";

  TwoMachines copy;
  copy.router.restore(bytes);
  EXPECT_EQ(copy.kv.contents(), m.kv.contents());
  EXPECT_EQ(copy.other.contents(), m.other.contents());
  EXPECT_EQ(copy.router.sessions(), m.router.sessions());
  EXPECT_EQ(copy.router.cluster_time_ms(), 900u);
  EXPECT_EQ(copy.router.snapshot(), bytes);
  // The restored cache still answers the retry.
  EXPECT_EQ(decode_route_result(copy.router.apply(4, entry(client, 1, "kv", kv_put("a", "1")))).status,
            RouteStatus::duplicate);

  // Every strict prefix is refused, never read past its end.
  for (std::size_t n = 5; n < bytes.size(); ++n) {
    TwoMachines target;
    EXPECT_THROW(target.router.restore(std::string_view(bytes).substr(0, n)), DecodeError) << n;
  }
  // A snapshot naming a machine not hosted here is refused.
  KvStateMachine lone;
  Router one;
  one.add("kv", lone);
  EXPECT_THROW(one.restore(bytes), DecodeError);
}

TEST(Router, ReadsLogsAndSnapshotsFromBeforeRouting) {
  KvStateMachine old_kv;
  old_kv.apply(1, kv_put("a", "1"));
  TwoMachines m;
  m.router.restore(old_kv.snapshot());
  EXPECT_EQ(m.kv.get("a"), "1");
  EXPECT_EQ(decode_kv_result(m.router.apply(2, kv_put("b", "2"))).status, KvStatus::not_found);
  EXPECT_EQ(m.kv.get("b"), "2");
}

TEST(RoutedEntry, RoundTripsAndStamps) {
  RoutedEntry e{RoutedKind::command, 5, 6, 7, 3, "kv", std::string("x\0y", 3)};
  EXPECT_EQ(decode_routed(encode_routed(e)), e);
  auto stamped = decode_routed(stamp_time(encode_routed(e), 99));
  EXPECT_EQ(stamped.time_ms, 99u);
  stamped.time_ms = 5;
  EXPECT_EQ(stamped, e);
  EXPECT_FALSE(is_routed(kv_put("a", "b")));
  const RouteResult r{RouteStatus::duplicate, "abc"};
  EXPECT_EQ(decode_route_result(encode_route_result(r)), r);
  EXPECT_THROW(decode_route_result(std::string(1, '\x09')), DecodeError);
}

}  // namespace
}  // namespace idunno::raft
