// SwimCore behaviour at the packet level: answering pings, refusing
// garbage, wrong targets, replays and other clusters, and authenticated
// groups in the simulation.

#include "net/swim/swim_core.hpp"

#include <gtest/gtest.h>

#include "net/swim/bytes.hpp"
#include "net/swim/swim_sim.hpp"

namespace idunno::swim {
namespace {

using namespace std::chrono_literals;

const core::TimePoint t0 = core::TimePoint(std::chrono::hours(1));

MemberId id(int i) {
  return MemberId{"node" + std::to_string(i), {"127.0.0.1", static_cast<std::uint16_t>(7000 + i)}, 1'700'000'000'000u};
}

std::uint64_t dropped(const SwimCore& core, DropReason reason) {
  return core.metrics().dropped[static_cast<std::size_t>(reason)];
}

std::string packet(const Envelope& env, std::uint32_t sender, std::uint64_t counter, const std::vector<Message>& msgs) {
  std::string body;
  for (const auto& m : msgs) encode(body, m);
  return env.seal(sender, counter, body);
}

TEST(SwimCore, AnswersAPingMeantForItWithAnAck) {
  SwimCore core(SwimConfig{}, id(1), 1, t0);
  Envelope env("");
  core.on_packet(t0, id(2).addr, as_bytes(packet(env, id(2).tag(), 0, {PingMsg{5, id(1).tag()}})));
  auto out = core.take_output();
  ASSERT_EQ(out.packets.size(), 1u);
  EXPECT_EQ(out.packets[0].to, id(2).addr);
  auto opened = env.open(as_bytes(out.packets[0].bytes));
  auto messages = decode_body(std::get<OpenedEnvelope>(opened).body);
  ASSERT_TRUE(messages);
  EXPECT_EQ(std::get<AckMsg>(messages->front()).seq, 5u);
}

TEST(SwimCore, IgnoresAPingMeantForItsPredecessor) {
  SwimCore core(SwimConfig{}, id(1), 1, t0);
  MemberId predecessor = id(1);
  predecessor.start_ms -= 60'000;
  core.on_packet(t0, id(2).addr, as_bytes(packet(Envelope(""), id(2).tag(), 0, {PingMsg{5, predecessor.tag()}})));
  EXPECT_TRUE(core.take_output().packets.empty());
  EXPECT_EQ(dropped(core, DropReason::wrong_target), 1u);
}

TEST(SwimCore, RefutesASuspicionCarriedByAPing) {
  SwimCore core(SwimConfig{}, id(1), 1, t0);
  core.on_packet(t0, id(2).addr,
                 as_bytes(packet(Envelope(""), id(2).tag(), 0,
                                 {PingMsg{5, id(1).tag()}, SuspectMsg{id(1), 0, id(2).tag()}})));
  EXPECT_EQ(core.self().incarnation, 1u);
  auto out = core.take_output();
  ASSERT_FALSE(out.packets.empty());
  auto messages = decode_body(std::get<OpenedEnvelope>(Envelope("").open(as_bytes(out.packets[0].bytes))).body);
  bool carries_alive = false;
  for (const auto& m : *messages) {
    if (const auto* a = std::get_if<AliveMsg>(&m)) carries_alive = a->id == id(1) && a->incarnation == 1;
  }
  EXPECT_TRUE(carries_alive);
}

TEST(SwimCore, GarbageIsDroppedAndCounted) {
  SwimCore core(SwimConfig{}, id(1), 1, t0);
  const std::vector<std::string> junk = {"", "x", std::string("\xD1\x01\x02", 3), std::string("\xD1\x01\x02\x03\x04\x7f", 6),
                                         std::string(2000, '\xD1')};
  for (const auto& j : junk) core.on_packet(t0, id(2).addr, as_bytes(j));
  EXPECT_EQ(core.metrics().dropped_total(), junk.size());
  EXPECT_TRUE(core.take_output().packets.empty());
  EXPECT_EQ(core.members().size(), 1u);
}

TEST(SwimCore, AuthenticatedCoreDropsReplaysAndStrangers) {
  SwimConfig config;
  config.secret = "s3cret";
  SwimCore core(config, id(1), 1, t0);
  Envelope ours("s3cret");
  const std::uint64_t counter = id(1).start_ms * 1000 + 5;
  const std::string alive = packet(ours, id(2).tag(), counter, {AliveMsg{id(2), 0}});
  core.on_packet(t0, id(2).addr, as_bytes(alive));
  EXPECT_EQ(core.members().size(), 2u);
  core.on_packet(t0, id(2).addr, as_bytes(alive));
  EXPECT_EQ(dropped(core, DropReason::replayed), 1u);
  core.on_packet(t0, id(3).addr, as_bytes(packet(Envelope("guess"), id(3).tag(), counter, {AliveMsg{id(3), 0}})));
  core.on_packet(t0, id(3).addr, as_bytes(packet(Envelope(""), id(3).tag(), 0, {AliveMsg{id(3), 0}})));
  EXPECT_EQ(dropped(core, DropReason::bad_mac), 1u);
  EXPECT_EQ(dropped(core, DropReason::unauthenticated), 1u);
  EXPECT_EQ(core.members().size(), 2u);
}

TEST(SwimCore, StreamPingIsAnsweredOnlyForItself) {
  SwimCore core(SwimConfig{}, id(1), 1, t0);
  Envelope env("");
  auto reply = core.on_stream_request(t0, as_bytes(packet(env, id(2).tag(), 0, {PingMsg{9, id(1).tag()}})));
  ASSERT_TRUE(reply);
  auto messages = decode_body(std::get<OpenedEnvelope>(env.open(as_bytes(*reply))).body);
  EXPECT_EQ(std::get<AckMsg>(messages->front()).seq, 9u);
  EXPECT_FALSE(core.on_stream_request(t0, as_bytes(packet(env, id(2).tag(), 0, {PingMsg{9, id(3).tag()}}))));
  EXPECT_FALSE(core.on_stream_request(t0, as_bytes(std::string("junk"))));
}

TEST(SwimCoreSim, AuthenticatedGroupWorksAndKeepsStrangersOut) {
  SwimConfig config;
  config.secret = "cluster-secret";
  SwimSimulation sim(3, config);
  ASSERT_TRUE(sim.bootstrap(20));
  SwimConfig intruder = config;
  intruder.secret = "wrong";
  sim.add_nodes(1);
  sim.configure(20, intruder);
  sim.start(20, {0, 1, 2});
  sim.run_for(5s);
  for (std::size_t i = 0; i < 20; ++i) EXPECT_FALSE(sim.view(i, 20)) << "node" << i + 1 << " let the intruder in";
  EXPECT_GT(sim.core(0).metrics().dropped[static_cast<std::size_t>(DropReason::bad_mac)], 0u);
  const auto victim = sim.id_of(7);
  const auto t = sim.now();
  sim.crash(7);
  sim.run_for(10s);
  for (std::size_t i = 0; i < 20; ++i) {
    if (i == 7) continue;
    EXPECT_TRUE(sim.first_event(i, victim, EventKind::dead, t)) << "node" << i + 1;
  }
}

TEST(SwimCoreSim, PacketsStayWithinTheDatagramLimitWhileAGroupForms) {
  SwimSimulation sim(5, SwimConfig{});
  ASSERT_TRUE(sim.bootstrap(150));  // hundreds of queued updates per node
  EXPECT_GT(sim.largest_packet(), 1000u);
  EXPECT_LE(sim.largest_packet(), SwimConfig{}.max_packet_bytes);
}

TEST(SwimCoreSim, IdleTrafficIsSmall) {
  SwimSimulation sim(4, SwimConfig{});
  ASSERT_TRUE(sim.bootstrap(10));
  sim.run_for(10s);
  std::uint64_t before = 0, after = 0;
  for (std::size_t i = 0; i < 10; ++i) before += sim.core(i).metrics().bytes_out;
  sim.run_for(60s);
  for (std::size_t i = 0; i < 10; ++i) after += sim.core(i).metrics().bytes_out;
  const double per_node_per_s = static_cast<double>(after - before) / 10.0 / 60.0;
  EXPECT_LT(per_node_per_s, 150.0);
}

}  // namespace
}  // namespace idunno::swim
