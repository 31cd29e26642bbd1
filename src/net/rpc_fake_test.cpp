// RPC over the FakeNetwork: delays, partitions and crashes as a caller sees
// them.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <string>

#include "net/fake_network.hpp"
#include "net/rpc.hpp"
#include "net/rpc_test_support.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

const core::HostPort server_node{"10.0.0.1", 7001};
const core::HostPort client_node{"10.0.0.2", 7001};

class RpcFakeTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    network_ = std::make_unique<FakeNetwork>(executor(), 77);
    server_endpoint_ = network_->stream(server_node);
    client_endpoint_ = network_->stream(client_node);
    server_ = std::make_unique<RpcServer>(executor(), *server_endpoint_, testing::test_limits());
    client_ = std::make_unique<RpcClient>(executor(), *client_endpoint_, testing::test_limits());
    server_->handle("echo", testing::echo);
    server_->handle("who", [](const RpcContext& context, std::string) -> asio::awaitable<std::string> {
      co_return context.peer.to_string();
    });
    server_->start();
  }

  void TearDown() override {
    run(client_->stop());
    run(server_->stop());
  }

  RpcErrorCode failing_call(std::chrono::milliseconds deadline) {
    try {
      run(client_->call(server_node, "echo", "x", deadline));
    } catch (const RpcError& e) {
      return e.code();
    }
    ADD_FAILURE() << "call succeeded";
    return RpcErrorCode::protocol;
  }

  std::unique_ptr<FakeNetwork> network_;
  std::unique_ptr<StreamNetwork> server_endpoint_;
  std::unique_ptr<StreamNetwork> client_endpoint_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
};

TEST_F(RpcFakeTest, RoundTripWithDelayAndPeerAddress) {
  network_->set_delay(1ms, 5ms);
  EXPECT_EQ(run(client_->call(server_node, "echo", "hello", 1s)), "hello");
  EXPECT_EQ(run(client_->call(server_node, "who", "", 1s)), client_node.to_string());
}

asio::awaitable<void> echo_burst(RpcClient& client, int first, int count, int& correct) {
  for (int i = first; i < first + count; ++i) {
    if (co_await client.call(server_node, "echo", std::to_string(i), 2s) == std::to_string(i)) ++correct;
  }
}

TEST_F(RpcFakeTest, ConcurrentCallsUnderJitterAllMatch) {
  network_->set_delay(0ms, 3ms);
  int correct = 0;
  run(echo_burst(*client_, 0, 30, correct) && echo_burst(*client_, 100, 30, correct) &&
      echo_burst(*client_, 200, 30, correct));
  EXPECT_EQ(correct, 90);
  EXPECT_EQ(client_->connection_count(), 1u);
}

TEST_F(RpcFakeTest, PartitionTimesOutAndHealRestoresService) {
  EXPECT_EQ(run(client_->call(server_node, "echo", "before", 1s)), "before");
  network_->partition({server_node}, {client_node});
  EXPECT_EQ(failing_call(50ms), RpcErrorCode::timeout);
  network_->heal();
  EXPECT_EQ(run(client_->call(server_node, "echo", "after", 1s)), "after");
}

TEST_F(RpcFakeTest, NewConnectionAcrossAPartitionIsUnreachable) {
  network_->partition({server_node}, {client_node});
  EXPECT_EQ(failing_call(500ms), RpcErrorCode::unreachable);
}

TEST_F(RpcFakeTest, ServerCrashFailsCallsAsUnreachable) {
  EXPECT_EQ(run(client_->call(server_node, "echo", "alive", 1s)), "alive");
  network_->crash(server_node);
  EXPECT_EQ(failing_call(500ms), RpcErrorCode::unreachable);
  EXPECT_EQ(failing_call(500ms), RpcErrorCode::unreachable);  // reconnect is refused too
}

}  // namespace
}  // namespace idunno::net
