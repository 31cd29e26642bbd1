// RaftDriver over real TCP on 127.0.0.1: nodes in one process elect a
// leader, commit through any node, survive the leader's loss, hand over on a
// graceful stop, resume from disk under new addresses, and found a cluster
// by themselves.

#include "net/raft/raft_driver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <functional>

#include "core/raft/codec.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "net/stream.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class RaftDriverTest : public testing::CoroutineTest {
 protected:
  struct TestNode {
    std::string name;
    std::unique_ptr<TcpNetwork> network;
    std::unique_ptr<RpcServer> server;
    std::unique_ptr<RpcClient> client;
    raft::KvStateMachine machine;
    std::unique_ptr<RaftDriver> driver;
  };

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("idunno-raft-driver-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }

  void TearDown() override {
    for (auto& [name, node] : nodes_) {
      if (node->driver) run(stop(*node, 0ms));
    }
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  // Starts (or restarts, on a new port) `name` with its data dir.
  TestNode& start(const std::string& name, BootstrapMode bootstrap, std::size_t target_voters = 7) {
    auto& node = nodes_[name];
    if (!node) node = std::make_unique<TestNode>();
    node->name = name;
    node->machine = raft::KvStateMachine{};
    node->network = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    node->server = std::make_unique<RpcServer>(executor(), *node->network, core::RpcSection{});
    node->client = std::make_unique<RpcClient>(executor(), *node->network, core::RpcSection{});
    RaftDriverOptions options;
    options.name = name;
    options.advertise = node->network->local_address();
    options.data_dir = dir_ / name;
    options.bootstrap = bootstrap;
    options.bootstrap_settle = 300ms;
    options.raft.target_voters = target_voters;
    node->driver = std::make_unique<RaftDriver>(executor(), *node->server, *node->client, node->machine, options);
    node->server->start();
    node->driver->start();
    return *node;
  }

  // Hard stop (no handover) unless `handover` > 0, then RPC goes down.
  asio::awaitable<void> stop(TestNode& node, std::chrono::milliseconds handover) {
    co_await node.driver->stop(handover);
    co_await node.server->stop();
    co_await node.client->stop();
    node.network->close();
    node.driver.reset();
  }

  // What membership would report: every running node.
  void announce_members() {
    std::vector<LiveNode> live;
    for (auto& [name, node] : nodes_) {
      if (node->driver) live.push_back(LiveNode{name, node->network->local_address()});
    }
    for (auto& [name, node] : nodes_) {
      if (node->driver) node->driver->on_members_changed(live);
    }
  }

  // Polls `done` on the loop until it holds or `limit` passes.
  asio::awaitable<bool> eventually(std::function<bool()> done, std::chrono::milliseconds limit = 10s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) co_return false;
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return true;
  }

  std::string put(const std::string& via, const std::string& key, const std::string& value) {
    return run(nodes_.at(via)->driver->submit(raft::kv_put(key, value), 10s));
  }

  std::optional<std::string> leader_name() {
    for (auto& [name, node] : nodes_) {
      if (node->driver && node->driver->role() == NodeRole::coordinator) return name;
    }
    return std::nullopt;
  }

  std::size_t voters_at(const std::string& name) { return nodes_.at(name)->driver->core().configuration().voters.size(); }

  std::filesystem::path dir_;
  std::map<std::string, std::unique_ptr<TestNode>> nodes_;
};

TEST_F(RaftDriverTest, ThreeNodesElectGrowAndCommitThroughAnyNode) {
  start("a", BootstrapMode::if_empty);
  start("b", BootstrapMode::never);
  start("c", BootstrapMode::never);
  announce_members();
  put("c", "k1", "v1");  // forwarded to the leader
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  put("b", "k2", "v2");
  const auto leader = *leader_name();
  EXPECT_EQ(nodes_.at(leader)->machine.get("k1"), "v1");
  int standbys = 0;
  for (auto& [name, node] : nodes_) {
    EXPECT_EQ(node->driver->leader()->name, leader);
    EXPECT_EQ(node->driver->role_of(leader), NodeRole::coordinator);
    standbys += node->driver->role() == NodeRole::standby ? 1 : 0;
  }
  EXPECT_EQ(standbys, 2);
  // A direct proposal on a follower names the coordinator.
  const std::string follower = leader == "a" ? "b" : "a";
  try {
    run(nodes_.at(follower)->driver->propose(raft::kv_put("x", "y")));
    ADD_FAILURE() << "a follower accepted a proposal";
  } catch (const NotLeader& e) {
    ASSERT_TRUE(e.leader());
    EXPECT_EQ(e.leader()->name, leader);
    EXPECT_FALSE(e.outcome_unknown());
  }
}

TEST_F(RaftDriverTest, LeaderLossElectsANewLeaderAndKeepsEveryWrite) {
  start("a", BootstrapMode::if_empty);
  start("b", BootstrapMode::never);
  start("c", BootstrapMode::never);
  announce_members();
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  for (int i = 0; i < 20; ++i) put("a", "k" + std::to_string(i), "v");
  const auto old_leader = *leader_name();
  const auto old_term = nodes_.at(old_leader)->driver->term();
  run(stop(*nodes_.at(old_leader), 0ms));  // like a crash: no handover
  announce_members();
  const std::string survivor = old_leader == "a" ? "b" : "a";
  const auto started = std::chrono::steady_clock::now();
  put(survivor, "after", "crash");
  const auto failover = std::chrono::steady_clock::now() - started;
  const auto leader = leader_name();
  ASSERT_TRUE(leader);
  EXPECT_NE(*leader, old_leader);
  EXPECT_GT(nodes_.at(*leader)->driver->term(), old_term);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(nodes_.at(*leader)->machine.get("k" + std::to_string(i)), "v");
  std::cout << "failover_in_process_ms="
            << std::chrono::duration_cast<std::chrono::milliseconds>(failover).count() << "\n";
}

TEST_F(RaftDriverTest, GracefulStopHandsLeadershipOver) {
  start("a", BootstrapMode::if_empty);
  start("b", BootstrapMode::never);
  start("c", BootstrapMode::never);
  announce_members();
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  put("b", "k", "v");
  const auto old_leader = *leader_name();
  std::optional<std::chrono::steady_clock::time_point> stepped_down;
  nodes_.at(old_leader)->driver->on_leadership_change([&](bool leader, std::uint64_t) {
    if (!leader) stepped_down = std::chrono::steady_clock::now();
  });
  const auto started = std::chrono::steady_clock::now();
  run(stop(*nodes_.at(old_leader), 1000ms));
  ASSERT_TRUE(stepped_down);
  const auto took = *stepped_down - started;
  // The successor was chosen by the handover, well before any election
  // timeout could have fired.
  const auto leader = leader_name();
  ASSERT_TRUE(leader);
  EXPECT_NE(*leader, old_leader);
  EXPECT_LT(took, 1000ms);
  std::cout << "handover_ms=" << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << "\n";
  announce_members();
  put(*leader, "k2", "v2");
}

TEST_F(RaftDriverTest, RestartResumesFromDiskUnderNewAddresses) {
  start("a", BootstrapMode::if_empty);
  start("b", BootstrapMode::never);
  start("c", BootstrapMode::never);
  announce_members();
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  for (int i = 0; i < 10; ++i) put("c", "k" + std::to_string(i), std::to_string(i));
  for (auto& [name, node] : nodes_) run(stop(*node, 0ms));
  // Whole-cluster restart on new ports: identity is the name and the disk.
  for (const auto* name : {"a", "b", "c"}) start(name, BootstrapMode::automatic);
  announce_members();
  put("b", "after", "restart");
  const auto leader = *leader_name();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(nodes_.at(leader)->machine.get("k" + std::to_string(i)), std::to_string(i));
  EXPECT_EQ(voters_at(leader), 3u);
}

TEST_F(RaftDriverTest, WorkerForwardsToTheCoordinatorAcrossAFailover) {
  start("a", BootstrapMode::if_empty, 3);
  for (const auto* name : {"b", "c", "d"}) start(name, BootstrapMode::never, 3);
  announce_members();
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  std::string worker;
  for (auto& [name, node] : nodes_) {
    if (node->driver->role() == NodeRole::worker) worker = name;
  }
  ASSERT_FALSE(worker.empty()) << "three voters out of four nodes leave one worker";
  put(worker, "k1", "v1");
  ASSERT_TRUE(run(eventually([&] { return nodes_.at(worker)->driver->role_of(*leader_name()) == NodeRole::coordinator; })));
  const auto old_leader = *leader_name();
  run(stop(*nodes_.at(old_leader), 0ms));
  announce_members();
  put(worker, "k2", "v2");  // finds the new coordinator by asking
  const auto leader = *leader_name();
  EXPECT_NE(leader, old_leader);
  EXPECT_EQ(nodes_.at(leader)->machine.get("k1"), "v1");
  EXPECT_EQ(nodes_.at(leader)->machine.get("k2"), "v2");
}

TEST_F(RaftDriverTest, FreshNodesFoundOneClusterByThemselves) {
  for (const auto* name : {"n3", "n1", "n2"}) start(name, BootstrapMode::automatic);
  announce_members();
  put("n3", "k", "v");
  ASSERT_TRUE(run(eventually([&] {
    auto l = leader_name();
    return l && voters_at(*l) == 3 && !nodes_.at(*l)->driver->core().config_change_pending();
  })));
  // Only the smallest name founded it: every node's first entry is n1's.
  for (auto& [name, node] : nodes_) {
    const auto& log = node->driver->core().log();
    if (log.contains(1)) {
      EXPECT_EQ(raft::decode_configuration(log.at(1).data).voters.begin()->first, "n1") << name;
    }
  }
}

}  // namespace
}  // namespace idunno::net
