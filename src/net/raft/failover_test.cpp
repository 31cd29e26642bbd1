// Failover with seven voters, each node on its own thread and io_context
// (like separate processes: fsyncs run in parallel) over TCP on 127.0.0.1:
// the leader stops abruptly, and a write submitted through a survivor
// measures the time until a new leader commits. Prints the figures; the
// bounds asserted are loose, since the machine may be busy.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "core/raft/kv_state_machine.hpp"
#include "core/task_group.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/stream.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// One node on its own event loop thread.
class ThreadedNode {
 public:
  ThreadedNode(std::string name, std::filesystem::path dir) : name_(std::move(name)), dir_(std::move(dir)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ThreadedNode() {
    if (running()) kill();
    work_.reset();
    thread_.join();
  }

  // Runs `fn` on the node's loop and returns its result.
  template <typename Fn>
  auto on(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  // Runs an awaitable on the node's loop and waits for it.
  template <typename T>
  T await(asio::awaitable<T> task) {
    return asio::co_spawn(io_, std::move(task), asio::use_future).get();
  }

  void start(BootstrapMode bootstrap) {
    on([&] {
      machine_ = raft::KvStateMachine{};
      router_ = std::make_unique<raft::Router>();
      router_->add("kv", machine_);
      network_ = TcpNetwork::listen(io_.get_executor(), {"127.0.0.1", 0});
      server_ = std::make_unique<RpcServer>(io_.get_executor(), *network_, core::RpcSection{});
      client_ = std::make_unique<RpcClient>(io_.get_executor(), *network_, core::RpcSection{});
      RaftDriverOptions options;
      options.name = name_;
      options.advertise = network_->local_address();
      options.data_dir = dir_;
      options.bootstrap = bootstrap;
      driver_ = std::make_unique<RaftDriver>(io_.get_executor(), *server_, *client_, *router_, options);
      server_->start();
      driver_->start();
      return 0;
    });
  }

  // Stops without handing over, closing its sockets like a killed process.
  void kill() {
    await([this]() -> asio::awaitable<void> {
      co_await driver_->stop(0ms);
      co_await server_->stop();
      co_await client_->stop();
      network_->close();
    }());
    on([this] {
      driver_.reset();
      server_.reset();
      client_.reset();
      network_.reset();
      return 0;
    });
  }

  bool running() { return on([this] { return driver_ != nullptr; }); }
  core::HostPort address() { return on([this] { return network_->local_address(); }); }
  RaftDriver& driver() { return *driver_; }  // use from on()/await() only
  const raft::KvStateMachine& machine() const { return machine_; }  // from on() only
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::filesystem::path dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread thread_;
  raft::KvStateMachine machine_;
  std::unique_ptr<raft::Router> router_;
  std::unique_ptr<TcpNetwork> network_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
  std::unique_ptr<RaftDriver> driver_;
};

class SevenVoters : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("idunno-raft-failover-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    for (int i = 1; i <= 7; ++i) {
      nodes_.push_back(std::make_unique<ThreadedNode>("node" + std::to_string(i), dir_ / ("node" + std::to_string(i))));
      nodes_.back()->start(i == 1 ? BootstrapMode::if_empty : BootstrapMode::never);
    }
    announce();
  }

  void TearDown() override {
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  void announce() {
    std::vector<LiveNode> live;
    for (auto& n : nodes_) {
      if (n->running()) live.push_back(LiveNode{n->name(), n->address()});
    }
    for (auto& n : nodes_) {
      if (n->running()) n->on([&] { n->driver().on_members_changed(live); return 0; });
    }
  }

  std::string put(ThreadedNode& via, const std::string& key) {
    auto result = via.await(via.driver().submit("kv", raft::kv_put(key, "v"), 10s));
    written_.push_back(key);
    return result;
  }

  // The acknowledged writes missing from the leader's state, once it has
  // applied everything it committed (a leader just elected may still be
  // applying; polled with a deadline).
  std::vector<std::string> missing_from_leader() {
    std::vector<std::string> missing = written_;
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!missing.empty() && std::chrono::steady_clock::now() < end) {
      auto* l = leader();
      if (l) {
        missing = l->on([&] {
          std::vector<std::string> out;
          for (const auto& key : written_) {
            if (l->machine().get(key) != "v") out.push_back(key);
          }
          return out;
        });
      }
      if (!missing.empty()) std::this_thread::sleep_for(10ms);
    }
    return missing;
  }

  ThreadedNode* leader() {
    for (auto& n : nodes_) {
      if (n->running() && n->on([&] { return n->driver().role() == NodeRole::coordinator; })) return n.get();
    }
    return nullptr;
  }

  // Until the leader has 7 voters and nothing pending.
  void wait_for_full_voter_set() {
    for (int i = 0; i < 500; ++i) {
      put(*nodes_[0], "probe");
      auto* l = leader();
      if (l && l->on([&] {
            const auto& core = l->driver().core();
            return core.configuration().voters.size() == 7 && !core.config_change_pending() &&
                   core.commit_index() == core.last_index();
          })) {
        return;
      }
    }
    FAIL() << "the voter set never reached 7";
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<ThreadedNode>> nodes_;
  std::vector<std::string> written_;  // every acknowledged key
};

TEST_F(SevenVoters, LeaderKillToNewLeaderCommitting) {
  wait_for_full_voter_set();
  std::vector<double> times;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 10; ++i) put(*nodes_[round % 7], "r" + std::to_string(round) + "-" + std::to_string(i));
    auto* victim = leader();
    ASSERT_NE(victim, nullptr);
    ThreadedNode* survivor = victim == nodes_[0].get() ? nodes_[1].get() : nodes_[0].get();
    const auto started = std::chrono::steady_clock::now();
    victim->kill();
    put(*survivor, "after-" + std::to_string(round));
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    // Every write so far is in the new leader's state.
    const auto missing = missing_from_leader();
    ASSERT_TRUE(missing.empty()) << missing.size() << " acknowledged writes are missing, the first "
                                 << missing.front() << "; written " << written_.size();
    victim->start(BootstrapMode::never);
    announce();
    wait_for_full_voter_set();
  }
  std::sort(times.begin(), times.end());
  std::cout << "failover_7_voters_median_ms=" << times[times.size() / 2] << " max_ms=" << times.back()
            << " runs=" << times.size() << "\n";
  EXPECT_LT(times[times.size() / 2], 1000.0);
}

// What the clients of the throughput test record.
struct LoadStats {
  std::vector<double> latencies_ms;
  std::size_t failures = 0;
};

// One client: sequential small writes on the leader until `until`.
asio::awaitable<void> load_client(RaftDriver* driver, std::chrono::steady_clock::time_point until, int id,
                                  std::shared_ptr<LoadStats> stats) {
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
    const auto started = std::chrono::steady_clock::now();
    try {
      co_await driver->propose("kv", raft::kv_put("c" + std::to_string(id) + "-" + std::to_string(i), "value"));
      stats->latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    } catch (const std::exception&) {
      ++stats->failures;
    }
  }
}

asio::awaitable<void> run_load(RaftDriver* driver, std::chrono::milliseconds window, int clients,
                               std::shared_ptr<LoadStats> stats) {
  core::TaskGroup group(co_await asio::this_coro::executor, "clients");
  const auto until = std::chrono::steady_clock::now() + window;
  for (int c = 0; c < clients; ++c) group.spawn(load_client(driver, until, c, stats), "client");
  co_await group.join();
}

// Small writes from many concurrent clients on the leader: what one fsync
// per batch buys. Prints commits/s and latency percentiles.
TEST_F(SevenVoters, CommitThroughputAndLatencyOfSmallEntries) {
  wait_for_full_voter_set();
  auto* l = leader();
  ASSERT_NE(l, nullptr);
  auto stats = std::make_shared<LoadStats>();
  const auto window = 2000ms;
  l->await(run_load(&l->driver(), window, 32, stats));
  auto& latencies = stats->latencies_ms;
  ASSERT_FALSE(latencies.empty());
  std::sort(latencies.begin(), latencies.end());
  const double per_second = static_cast<double>(latencies.size()) / std::chrono::duration<double>(window).count();
  std::cout << "commit_7_voters_per_s=" << per_second << " latency_p50_ms=" << latencies[latencies.size() / 2]
            << " latency_p99_ms=" << latencies[latencies.size() * 99 / 100] << " clients=32\n";
  EXPECT_EQ(stats->failures, 0u);
  EXPECT_GT(per_second, 50.0);
}

}  // namespace
}  // namespace idunno::net
