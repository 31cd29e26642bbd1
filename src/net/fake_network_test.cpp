// Tests of the FakeNetwork's fault modes, in real-time and simulated-time
// mode, with fixed seeds.
#include "net/fake_network.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/task_group.hpp"
#include "net/net_error.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::CoroutineTest;

const core::HostPort node_a{"10.0.0.1", 7001};
const core::HostPort node_b{"10.0.0.2", 7001};
const core::HostPort node_c{"10.0.0.3", 7001};

// Awaited by run(), never spawned: the reference outlives the coroutine.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters)
asio::awaitable<std::vector<std::string>> receive_n(DatagramTransport& transport, std::size_t n) {
  std::vector<std::string> out;
  while (out.size() < n) out.push_back((co_await transport.receive()).payload);
  co_return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Awaited by run(), never spawned: the reference outlives the coroutine.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters)
asio::awaitable<std::string> read_exactly(Stream& stream, std::size_t size) {
  std::string out;
  std::vector<std::uint8_t> buffer(256);
  while (out.size() < size) {
    std::size_t n = co_await stream.read_some(buffer);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  co_return out;
}

class FakeNetworkTest : public CoroutineTest {};

TEST_F(FakeNetworkTest, DeliversDatagramsInOrderWithoutFaults) {
  FakeNetwork network(executor(), 1);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  for (int i = 0; i < 10; ++i) a->send(node_b, std::to_string(i));
  auto got = run(receive_n(*b, 10));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  Datagram d;
  a->send(node_b, "x");
  d = run(b->receive());
  EXPECT_EQ(d.from, node_a);
}

TEST_F(FakeNetworkTest, LossRateMatchesTheSetting) {
  FakeNetwork network(executor(), 12345);
  network.set_loss(0.2);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  // Batches stay below the receiver's inbox limit.
  constexpr int batches = 10;
  constexpr int batch = 2000;
  std::size_t received = 0;
  for (int round = 0; round < batches; ++round) {
    const auto dropped_before = network.stats().datagrams_dropped;
    for (int i = 0; i < batch; ++i) a->send(node_b, "p");
    received += run(receive_n(*b, batch - (network.stats().datagrams_dropped - dropped_before))).size();
  }
  constexpr int sent = batches * batch;
  const auto dropped = network.stats().datagrams_dropped;
  EXPECT_NEAR(static_cast<double>(dropped) / sent, 0.2, 0.015);
  EXPECT_EQ(received, sent - dropped);
  EXPECT_EQ(network.stats().datagrams_delivered, sent - dropped);
  EXPECT_EQ(network.stats().datagrams_overflowed, 0u);
}

TEST_F(FakeNetworkTest, DelayHoldsDatagramsForAtLeastTheMinimum) {
  FakeNetwork network(executor(), 7);
  network.set_delay(20ms, 30ms);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  const auto start = std::chrono::steady_clock::now();
  a->send(node_b, "late");
  EXPECT_EQ(run(b->receive()).payload, "late");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 20ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(FakeNetworkTest, DuplicationRateMatchesTheSetting) {
  FakeNetwork network(executor(), 99);
  network.set_duplicate(0.3);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  constexpr int sent = 3000;  // with duplicates, below the inbox limit
  for (int i = 0; i < sent; ++i) a->send(node_b, std::to_string(i));
  const auto duplicated = network.stats().datagrams_duplicated;
  EXPECT_NEAR(static_cast<double>(duplicated) / sent, 0.3, 0.03);
  auto got = run(receive_n(*b, sent + duplicated));
  std::map<std::string, int> counts;
  for (const auto& p : got) ++counts[p];
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(sent));
  const auto twice = std::count_if(counts.begin(), counts.end(), [](const auto& kv) { return kv.second == 2; });
  EXPECT_EQ(static_cast<std::uint64_t>(twice), duplicated);
}

TEST_F(FakeNetworkTest, JitterReordersButLosesNothing) {
  FakeNetwork network(executor(), 5);
  network.set_delay(0ms, 10ms);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  constexpr int sent = 200;
  for (int i = 0; i < sent; ++i) a->send(node_b, std::to_string(i));
  auto got = run(receive_n(*b, sent));
  std::vector<int> order;
  for (const auto& p : got) order.push_back(std::stoi(p));
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
  std::sort(order.begin(), order.end());
  std::vector<int> all(sent);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(order, all);
}

TEST_F(FakeNetworkTest, PartitionBlocksBothWaysUntilHeal) {
  FakeNetwork network(executor(), 3);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  auto c = network.datagram(node_c);
  network.partition({node_a}, {node_b});
  EXPECT_TRUE(network.blocked(node_a, node_b));
  EXPECT_TRUE(network.blocked(node_b, node_a));
  EXPECT_FALSE(network.blocked(node_a, node_c));
  a->send(node_b, "blocked");
  b->send(node_a, "blocked");
  a->send(node_c, "through");
  EXPECT_EQ(run(c->receive()).payload, "through");
  EXPECT_EQ(network.stats().datagrams_blocked, 2u);
  network.heal();
  a->send(node_b, "healed");
  EXPECT_EQ(run(b->receive()).payload, "healed");  // "blocked" never arrives
}

TEST_F(FakeNetworkTest, StreamBytesAcrossAPartitionArriveAfterHeal) {
  FakeNetwork network(executor(), 4);
  network.set_delay(1ms, 3ms);
  auto a = network.stream(node_a);
  auto b = network.stream(node_b);
  auto out = run(a->connect(node_b));
  auto in = run(b->accept());
  EXPECT_EQ(in->peer(), node_a);
  run(out->write_all(bytes_of("before ")));
  network.partition({node_a}, {node_b});
  run(out->write_all(bytes_of("during ")));
  EXPECT_THROW(run(a->connect(node_b)), boost::system::system_error);  // no new connections
  EXPECT_EQ(run(read_exactly(*in, 7)), "before ");
  network.heal();
  run(out->write_all(bytes_of("after")));
  EXPECT_EQ(run(read_exactly(*in, 12)), "during after");
  out->close();
  EXPECT_EQ(run(read_exactly(*in, 1)), "");
}

// Writes `bytes` and records that it finished. Spawned: the caller keeps
// the stream and the flag alive until the task group joins.
asio::awaitable<void> write_and_flag(Stream* stream, std::string bytes, bool* done) {
  co_await stream->write_all(bytes_of(bytes));
  *done = true;
}

TEST_F(FakeNetworkTest, WriteWaitsWhileTheReaderDoesNotRead) {
  FakeNetwork network(executor(), 10);
  network.set_stream_buffer(1000);
  auto a = network.stream(node_a);
  auto b = network.stream(node_b);
  auto out = run(a->connect(node_b));
  auto in = run(b->accept());
  core::TaskGroup writers(executor());
  bool done = false;
  const std::string payload(4000, 'w');
  writers.spawn(write_and_flag(out.get(), payload, &done));
  EXPECT_TRUE(run_until([&] { return network.stats().stream_bytes_delivered == 1000; }));
  testing::run_ready(io_);
  EXPECT_FALSE(done) << "the writer got past a full buffer";
  EXPECT_EQ(network.stats().stream_bytes_delivered, 1000u) << "more in flight than the buffer holds";
  EXPECT_EQ(run(read_exactly(*in, payload.size())), payload);
  run(writers.join());
  EXPECT_TRUE(done);
}

TEST_F(FakeNetworkTest, BlockedWriterFailsWhenThePeerCloses) {
  FakeNetwork network(executor(), 11);
  network.set_stream_buffer(100);
  auto a = network.stream(node_a);
  auto b = network.stream(node_b);
  auto out = run(a->connect(node_b));
  auto in = run(b->accept());
  core::TaskGroup writers(executor());
  bool done = false;
  writers.spawn(write_and_flag(out.get(), std::string(1000, 'x'), &done));
  testing::run_ready(io_);
  in->close();
  run(writers.join());  // ends with broken_pipe instead of hanging
  EXPECT_FALSE(done);
}

TEST_F(FakeNetworkTest, RetransmitBackoffKeepsAHealedConnectionStuck) {
  FakeNetwork network(executor(), 12);
  network.set_retransmit_backoff(300ms);
  auto a = network.stream(node_a);
  auto b = network.stream(node_b);
  auto old_out = run(a->connect(node_b));
  auto old_in = run(b->accept());
  network.partition({node_a}, {node_b});
  run(old_out->write_all(bytes_of("during")));
  network.heal();
  const auto healed = std::chrono::steady_clock::now();
  run(old_out->write_all(bytes_of(" after")));  // queues behind the held bytes
  // A new connection works at once.
  auto new_out = run(a->connect(node_b));
  auto new_in = run(b->accept());
  run(new_out->write_all(bytes_of("fresh")));
  EXPECT_EQ(run(read_exactly(*new_in, 5)), "fresh");
  EXPECT_LT(std::chrono::steady_clock::now() - healed, 200ms);
  // The old one only after the backoff, everything in order.
  EXPECT_EQ(run(read_exactly(*old_in, 12)), "during after");
  EXPECT_GE(std::chrono::steady_clock::now() - healed, 300ms);
}

TEST_F(FakeNetworkTest, CrashResetsStreamsAndClosesEndpoints) {
  FakeNetwork network(executor(), 6);
  auto a = network.stream(node_a);
  auto b = network.stream(node_b);
  auto db = network.datagram(node_b);
  auto out = run(a->connect(node_b));
  auto in = run(b->accept());
  network.crash(node_b);
  EXPECT_THROW(run(read_exactly(*out, 1)), boost::system::system_error);
  EXPECT_THROW(run(db->receive()), boost::system::system_error);
  EXPECT_THROW(run(a->connect(node_b)), boost::system::system_error);
  // Restart: a new endpoint at the same address works.
  auto b2 = network.stream(node_b);
  auto out2 = run(a->connect(node_b));
  auto in2 = run(b2->accept());
  run(out2->write_all(bytes_of("hi")));
  EXPECT_EQ(run(read_exactly(*in2, 2)), "hi");
}

TEST_F(FakeNetworkTest, AddressInUseIsRefused) {
  FakeNetwork network(executor(), 8);
  auto a = network.datagram(node_a);
  EXPECT_THROW(network.datagram(node_a), NetError);
  auto s = network.stream(node_a);
  EXPECT_THROW(network.stream(node_a), NetError);
  a->close();
  EXPECT_NO_THROW(network.datagram(node_a));
}

TEST_F(FakeNetworkTest, ConnectToNobodyIsRefused) {
  FakeNetwork network(executor(), 9);
  auto a = network.stream(node_a);
  try {
    run(a->connect(node_c));
    FAIL() << "connected to nobody";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::connection_refused);
  }
}

// Appends every datagram to `out` until the transport closes. Spawned: it
// takes pointers the caller keeps alive until the task group joins.
asio::awaitable<void> receive_all(DatagramTransport* transport, std::vector<std::string>* out) {
  for (;;) out->push_back((co_await transport->receive()).payload);
}

// One run in simulated time: every fault on, the clock stepped by hand.
std::vector<std::string> simulated_run(std::uint64_t seed) {
  asio::io_context io;
  core::FakeClock clock;
  core::TimerQueue timers;
  FakeNetwork network(io.get_executor(), seed, clock, timers);
  network.set_loss(0.1);
  network.set_duplicate(0.1);
  network.set_delay(1ms, 20ms);
  auto a = network.datagram(node_a);
  auto b = network.datagram(node_b);
  std::vector<std::string> received;
  core::TaskGroup tasks(io.get_executor());
  tasks.spawn(receive_all(b.get(), &received));
  for (int step = 0; step < 100; ++step) {
    a->send(node_b, std::to_string(step));
    clock.advance(1ms);
    timers.fire_due(clock.now());
    idunno::testing::run_ready(io);
  }
  clock.advance(50ms);
  timers.fire_due(clock.now());
  idunno::testing::run_ready(io);
  b->close();
  idunno::testing::run_ready(io);
  return received;
}

TEST(FakeNetworkSimulationTest, SameSeedReplaysExactly) {
  const auto first = simulated_run(2024);
  const auto second = simulated_run(2024);
  EXPECT_EQ(first, second);
  EXPECT_GT(first.size(), 70u);
  EXPECT_NE(first, simulated_run(2025));
}

}  // namespace
}  // namespace idunno::net
