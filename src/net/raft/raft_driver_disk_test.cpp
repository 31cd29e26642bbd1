// RaftDriver and the disk: a full or failing disk stops the node instead of
// letting it acknowledge what it did not store.

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
