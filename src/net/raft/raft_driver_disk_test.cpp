// RaftDriver and the disk: a 100 MB snapshot is serialized and written
// while the event loop keeps its timers on time, and a full or failing disk
// stops the node instead of letting it acknowledge what it did not store.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <memory>

#include "core/fake_disk.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "core/task_group.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A state machine whose snapshot is `bytes` large.
class BigStateMachine final : public raft::StateMachine {
 public:
  explicit BigStateMachine(std::size_t bytes) : state_(bytes, 's') {}
  std::string apply(raft::Index, std::string_view command) override {
    ++applied_;
    return std::string(command);
  }
  std::string snapshot() const override { return state_; }
  void restore(std::string_view snapshot) override { state_.assign(snapshot); }
  int applied() const { return applied_; }

 private:
  std::string state_;
  int applied_ = 0;
};

class RaftDriverDiskTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("idunno-raft-disk-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }

  void TearDown() override {
    if (driver_) {
      run([this]() -> asio::awaitable<void> {
        co_await driver_->stop(0ms);
        co_await server_->stop();
        co_await client_->stop();
      });
      network_->close();
      driver_.reset();
    }
    std::filesystem::remove_all(dir_);
  }

  // One node that founds its own cluster and waits to lead it.
  void start(raft::StateMachine& machine, RaftDriverOptions options) {
    network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    server_ = std::make_unique<RpcServer>(executor(), *network_, core::RpcSection{});
    client_ = std::make_unique<RpcClient>(executor(), *network_, core::RpcSection{});
    options.name = "solo";
    options.advertise = network_->local_address();
    options.data_dir = dir_;
    options.bootstrap = BootstrapMode::if_empty;
    driver_ = std::make_unique<RaftDriver>(executor(), *server_, *client_, machine, options);
    server_->start();
    driver_->start();
    ASSERT_TRUE(run_until([this] { return driver_->role() == NodeRole::coordinator; }));
  }

  std::filesystem::path dir_;
  std::unique_ptr<TcpNetwork> network_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
  std::unique_ptr<RaftDriver> driver_;
};

struct Ticker {
  bool stop = false;
  int ticks = 0;
  Clock::duration worst{};
};

// Wakes every 5 ms and records how late each wake-up was.
asio::awaitable<void> tick_every_5ms(std::shared_ptr<Ticker> ticker) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!ticker->stop) {
    const auto due = Clock::now() + 5ms;
    timer.expires_at(due);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ticker->worst = std::max(ticker->worst, Clock::now() - due);
    ++ticker->ticks;
  }
}

TEST_F(RaftDriverDiskTest, A100MbSnapshotNeverHoldsUpA5msTimerOnTheLoopBy20ms) {
  BigStateMachine machine(100u << 20);
  RaftDriverOptions options;
  options.raft.snapshot_entries = 8;
  options.propose_timeout = 30s;
  start(machine, options);
  auto ticker = std::make_shared<Ticker>();
  const auto started = Clock::now();
  run(
      [&]() -> asio::awaitable<void> {
        core::TaskGroup tasks(executor(), "ticker");
        tasks.spawn(tick_every_5ms(ticker), "ticker");
        // Commands until a snapshot is due and taken; each waits for its
        // entry to apply, and applying waits for the snapshot.
        int proposed = 0;
        while (driver_->core().snapshot_index() == 0 && proposed < 100) {
          auto result = co_await driver_->propose("cmd-" + std::to_string(proposed));
          EXPECT_EQ(result, "cmd-" + std::to_string(proposed));
          ++proposed;
        }
        // Some more while the loop is watched, then stop.
        auto result = co_await driver_->propose("after");
        EXPECT_EQ(result, "after");
        ticker->stop = true;
        co_await tasks.shutdown(1s);
      },
      120s);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  const auto worst = std::chrono::duration_cast<std::chrono::microseconds>(ticker->worst);
  std::printf("snapshot_index=%llu elapsed_ms=%lld ticks=%d max_lateness_us=%lld\n",
              static_cast<unsigned long long>(driver_->core().snapshot_index()),
              static_cast<long long>(elapsed.count()), ticker->ticks, static_cast<long long>(worst.count()));
  ASSERT_GT(driver_->core().snapshot_index(), 0u) << "no snapshot was taken";
  EXPECT_GT(ticker->ticks, 0);
  EXPECT_LE(worst, 20ms) << "the loop stalled for " << worst.count() << " us";
  const auto file = dir_ / "raft" / "snapshot";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_GT(std::filesystem::file_size(file), 100u << 20);
}

TEST_F(RaftDriverDiskTest, AFullDiskStopsTheNodeAndTheCommandIsNotAcknowledged) {
  core::FakeDisk disk;
  raft::KvStateMachine machine;
  auto fatal = std::make_shared<std::string>();
  RaftDriverOptions options;
  options.disk = &disk;
  options.on_fatal = [fatal](const std::string& what) { *fatal = what; };
  start(machine, options);
  run(driver_->propose(raft::kv_put("k", "v1")));
  disk.set_capacity(disk.used_bytes());
  try {
    run(driver_->propose(raft::kv_put("k", "v2")));
    ADD_FAILURE() << "a command the disk could not store was acknowledged";
  } catch (const NotLeader& e) {
    EXPECT_TRUE(e.outcome_unknown());
  }
  EXPECT_NE(fatal->find("No space left on device"), std::string::npos) << "on_fatal: " << *fatal;
  EXPECT_NE(fatal->find("raft/log"), std::string::npos) << "on_fatal: " << *fatal;
}

TEST_F(RaftDriverDiskTest, AnFsyncErrorStopsTheNodeAndTheCommandIsNotAcknowledged) {
  core::FakeDisk disk;
  raft::KvStateMachine machine;
  auto fatal = std::make_shared<std::string>();
  RaftDriverOptions options;
  options.disk = &disk;
  options.on_fatal = [fatal](const std::string& what) { *fatal = what; };
  start(machine, options);
  run(driver_->propose(raft::kv_put("k", "v1")));
  disk.inject({core::DiskOp::sync, "raft/log", EIO, 1});
  try {
    run(driver_->propose(raft::kv_put("k", "v2")));
    ADD_FAILURE() << "a command whose fsync failed was acknowledged";
  } catch (const NotLeader& e) {
    EXPECT_TRUE(e.outcome_unknown());
  }
  EXPECT_NE(fatal->find("Input/output error"), std::string::npos) << "on_fatal: " << *fatal;
}

}  // namespace
}  // namespace idunno::net
