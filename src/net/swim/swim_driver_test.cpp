// SwimDriver end to end on the in-memory network (real time, short
// protocol timings): a group forms through a seed, a crashed node is
// declared dead by the others, a leaving node is `left` everywhere, and the
// RPC stream method answers fallback pings. Waiting is event-driven: each
// membership event wakes the test, a deadline only guards against hangs.

#include "net/swim/swim_driver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "net/fake_network.hpp"
#include "net/swim/bytes.hpp"
#include "net/test_util.hpp"

namespace idunno::swim {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

SwimConfig fast_config() {
  SwimConfig c;
  c.probe_interval = 60ms;
  c.probe_timeout = 25ms;
  c.gossip_interval = 20ms;
  c.push_pull_interval = 2s;
  c.rejoin_interval = 1s;
  c.lonely_rejoin_interval = 100ms;
  return c;
}

class SwimDriverTest : public net::testing::CoroutineTest {
 protected:
  struct Node {
    core::HostPort addr;
    std::unique_ptr<net::DatagramTransport> udp;
    std::unique_ptr<net::StreamNetwork> streams;
    std::unique_ptr<net::RpcServer> server;
    std::unique_ptr<net::RpcClient> client;
    std::unique_ptr<SwimDriver> driver;
    bool running = false;
  };

  void SetUp() override {
    network_ = std::make_unique<net::FakeNetwork>(executor(), 11);
    network_->set_delay(100us, 1ms);
  }

  void start_node(std::size_t i, std::vector<core::HostPort> seeds, SwimConfig config = fast_config()) {
    if (nodes_.size() <= i) nodes_.resize(i + 1);
    Node& n = nodes_[i];
    n.addr = core::HostPort{"127.0.0.1", static_cast<std::uint16_t>(9001 + i)};
    n.udp = network_->datagram(n.addr);
    n.streams = network_->stream(n.addr);
    n.server = std::make_unique<net::RpcServer>(executor(), *n.streams, core::RpcSection{});
    n.client = std::make_unique<net::RpcClient>(executor(), *n.streams, core::RpcSection{});
    n.driver =
        std::make_unique<SwimDriver>(executor(), *n.udp, *n.server, *n.client, std::move(config),
                                     MemberId{"node" + std::to_string(i + 1), n.addr, 1'700'000'000'000u + i}, 100 + i);
    n.server->start();
    n.driver->start(std::move(seeds));
    n.running = true;
  }

  asio::awaitable<void> stop_node(std::size_t i) {
    Node& n = nodes_[i];
    if (!n.running) co_return;
    n.running = false;
    co_await n.driver->stop();
    co_await n.server->stop();
    co_await n.client->stop();
  }

  asio::awaitable<void> stop_all() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) co_await stop_node(i);
  }

  std::optional<MemberState> view(std::size_t observer, std::size_t member) {
    const MemberId target = nodes_[member].driver->self().id;
    for (const auto& m : nodes_[observer].driver->members()) {
      if (m.id == target) return m.state;
    }
    return std::nullopt;
  }

  bool all_see(std::size_t member, MemberState state, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      if (i != member && nodes_[i].running && view(i, member) != state) return false;
    }
    return true;
  }

  bool formed(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t j = 0; j < count; ++j) {
        if (i != j && view(i, j) != MemberState::alive) return false;
      }
    }
    return true;
  }

  std::unique_ptr<net::FakeNetwork> network_;
  std::vector<Node> nodes_;
};

TEST_F(SwimDriverTest, GroupFormsDetectsACrashAndSeesALeave) {
  const core::HostPort seed{"127.0.0.1", 9001};
  for (std::size_t i = 0; i < 4; ++i) start_node(i, {seed});
  EXPECT_TRUE(run_until([&] { return formed(4); }, 10s));

  network_->crash(nodes_[3].addr);
  run(stop_node(3));
  EXPECT_TRUE(run_until([&] { return all_see(3, MemberState::dead, 3); }, 10s));

  run(nodes_[2].driver->leave(0ms));
  EXPECT_TRUE(run_until([&] { return all_see(2, MemberState::left, 2); }, 10s));
  EXPECT_TRUE(nodes_[2].driver->leaving());

  // And back.
  nodes_[2].driver->join();
  EXPECT_TRUE(run_until([&] { return formed(3); }, 10s));
  EXPECT_GT(nodes_[2].driver->self().incarnation, 0u);
  EXPECT_GT(nodes_[0].driver->metrics().probes_sent, 0u);
  run(stop_all());
}

TEST_F(SwimDriverTest, JoinsThroughASeedThatStartsLater) {
  const core::HostPort seed{"127.0.0.1", 9001};
  start_node(1, {seed});  // the seed is not up yet
  EXPECT_TRUE(run_until([&] { return nodes_[1].driver->metrics().stream_failures > 0; }, 10s));
  start_node(0, {});
  EXPECT_TRUE(run_until([&] { return formed(2); }, 10s));
  run(stop_all());
}

TEST_F(SwimDriverTest, FallbackPingOverTheStreamMethod) {
  start_node(0, {});
  start_node(1, {nodes_[0].addr});
  EXPECT_TRUE(run_until([&] { return formed(2); }, 10s));
  // A ping for node1 sent as a stream request through node2's RPC client.
  const MemberId target = nodes_[0].driver->self().id;
  std::string body;
  encode(body, PingMsg{77, target.tag()});
  const std::string payload = Envelope("").seal(nodes_[1].driver->self().id.tag(), 0, body);
  auto reply = run(nodes_[1].client->call(nodes_[0].addr, swim_stream_method, payload, 1000ms));
  auto opened = Envelope("").open(as_bytes(reply));
  ASSERT_TRUE(std::holds_alternative<OpenedEnvelope>(opened));
  auto messages = decode_body(std::get<OpenedEnvelope>(opened).body);
  ASSERT_TRUE(messages);
  EXPECT_EQ(std::get<AckMsg>(messages->front()).seq, 77u);
  run(stop_all());
}

}  // namespace
}  // namespace idunno::swim
