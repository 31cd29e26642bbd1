// RPC over the FakeNetwork: delays, partitions and crashes as a caller sees
// them.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <string>
#include <tuple>

#include "net/fake_network.hpp"
#include "net/rpc.hpp"
#include "net/rpc_test_support.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using testing::Gate;

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
    server_->handle("never", [this](const RpcContext&, std::string) -> asio::awaitable<std::string> {
      co_await never_.wait();
      co_return "";
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
  Gate never_{io_.get_executor()};  // outlives the server's handlers
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

// After a cut, a connection whose bytes sit in TCP's retransmission backoff
// stays stuck long after the heal (10 s here); a call that timed out with
// nothing received replaces it, so calls work again right after the heal.
TEST_F(RpcFakeTest, StuckConnectionIsReplacedSoonAfterHeal) {
  network_->set_retransmit_backoff(10s);
  EXPECT_EQ(run(client_->call(server_node, "echo", "before", 1s)), "before");
  network_->partition({server_node}, {client_node});
  for (int i = 0; i < 3; ++i) {
    const RpcErrorCode code = failing_call(300ms);  // Raft's message deadline
    EXPECT_TRUE(code == RpcErrorCode::timeout || code == RpcErrorCode::unreachable) << to_string(code);
  }
  network_->heal();
  const auto healed = std::chrono::steady_clock::now();
  std::string reply;
  while (reply.empty() && std::chrono::steady_clock::now() - healed < 5s) {
    try {
      reply = run(client_->call(server_node, "echo", "after", 300ms));
    } catch (const RpcError&) {
    }
  }
  EXPECT_EQ(reply, "after");
  EXPECT_LT(std::chrono::steady_clock::now() - healed, 1s) << "calls stayed stuck after the heal";
}

TEST_F(RpcFakeTest, SlowHandlerWithRepliesFlowingKeepsTheConnection) {
  // A call that times out while other replies keep arriving is not a dead
  // connection: nothing is replaced.
  EXPECT_EQ(run(client_->call(server_node, "echo", "warm", 1s)), "warm");
  auto slow = [&]() -> asio::awaitable<std::optional<RpcErrorCode>> {
    try {
      co_await client_->call(server_node, "never", "", 200ms);
    } catch (const RpcError& e) {
      co_return e.code();
    }
    co_return std::nullopt;
  };
  auto chatter = [&]() -> asio::awaitable<int> {
    int ok = 0;
    for (int i = 0; i < 20; ++i) {
      const std::string reply = co_await client_->call(server_node, "echo", "x", 1s);
      if (reply == "x") ++ok;
      asio::steady_timer pause(co_await asio::this_coro::executor, 15ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    co_return ok;
  };
  auto [code, ok] = run([&]() -> asio::awaitable<std::tuple<std::optional<RpcErrorCode>, int>> {
    co_return co_await (slow() && chatter());
  });
  EXPECT_EQ(code, RpcErrorCode::timeout);
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(server_->connection_count(), 1u) << "a live connection was replaced";
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
