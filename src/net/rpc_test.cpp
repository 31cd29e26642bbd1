// RPC over real TCP on 127.0.0.1: round trips, multiplexing, deadlines,
// errors, reconnects.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/task_group.hpp"
#include "net/rpc.hpp"
#include "net/rpc.pb.h"
#include "net/rpc_test_support.hpp"
#include "net/stream.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using testing::Gate;

class RpcTcpTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    server_network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    client_network_ = TcpNetwork::connect_only(executor());
    server_ = std::make_unique<RpcServer>(executor(), *server_network_, testing::test_limits());
    client_ = std::make_unique<RpcClient>(executor(), *client_network_, testing::test_limits());
    server_->handle("echo", testing::echo);
  }

  void TearDown() override {
    run(client_->stop());
    if (server_) run(server_->stop());
  }

  core::HostPort server_address() const { return server_network_->local_address(); }

  std::unique_ptr<TcpNetwork> server_network_;
  std::unique_ptr<TcpNetwork> client_network_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
};

RpcErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RpcError& e) {
    return e.code();
  }
  ADD_FAILURE() << "no RpcError thrown";
  return RpcErrorCode::protocol;
}

TEST_F(RpcTcpTest, RoundTripCarriesPayloadTermAndPeer) {
  RpcContext seen;
  server_->handle("whoami", [&seen](const RpcContext& context, std::string request) -> asio::awaitable<std::string> {
    seen = context;
    co_return "hello " + request;
  });
  server_->set_term_source([] { return std::uint64_t{9}; });
  server_->start();
  RpcReply reply = run(client_->call_with_term(server_address(), "whoami", "alice", 1s, 42));
  EXPECT_EQ(reply.payload, "hello alice");
  EXPECT_EQ(reply.term, 9u);
  EXPECT_EQ(seen.term, 42u);
  EXPECT_EQ(seen.method, "whoami");
  EXPECT_EQ(seen.deadline, 1s);
  EXPECT_EQ(seen.peer.host, "127.0.0.1");
  EXPECT_EQ(run(client_->call(server_address(), "echo", std::string("\0bin\xff", 5), 1s)),
            std::string("\0bin\xff", 5));
}

TEST_F(RpcTcpTest, ConcurrentCallsShareOneConnectionAndRepliesMayComeOutOfOrder) {
  Gate slow_started(executor());
  Gate fast_done(executor());
  std::vector<std::string> started, finished;
  server_->handle("slow", [&](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    started.push_back("slow");
    slow_started.release();
    co_await fast_done.wait();
    finished.push_back("slow");
    co_return "slow reply";
  });
  server_->handle("fast", [&](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    started.push_back("fast");
    finished.push_back("fast");
    fast_done.release();
    co_return "fast reply";
  });
  server_->start();
  std::string slow_reply, fast_reply;
  auto slow = [&]() -> asio::awaitable<void> { slow_reply = co_await client_->call(server_address(), "slow", "", 2s); };
  auto fast = [&]() -> asio::awaitable<void> {
    co_await slow_started.wait();  // the slow request is in the server already
    fast_reply = co_await client_->call(server_address(), "fast", "", 2s);
  };
  run(slow() && fast());
  EXPECT_EQ(started, (std::vector<std::string>{"slow", "fast"}));
  EXPECT_EQ(finished, (std::vector<std::string>{"fast", "slow"}));
  EXPECT_EQ(slow_reply, "slow reply");
  EXPECT_EQ(fast_reply, "fast reply");
  EXPECT_EQ(client_->connection_count(), 1u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

asio::awaitable<void> many_echoes(RpcClient& client, core::HostPort to, int first, int count, int& correct) {
  for (int i = first; i < first + count; ++i) {
    const std::string payload = "call-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 7) * 100, 'x');
    if (co_await client.call(to, "echo", payload, 2s) == payload) ++correct;
  }
}

TEST_F(RpcTcpTest, ManyInterleavedCallsEachGetTheirOwnReply) {
  server_->start();
  int correct = 0;
  run(many_echoes(*client_, server_address(), 0, 50, correct) && many_echoes(*client_, server_address(), 50, 50, correct) &&
      many_echoes(*client_, server_address(), 100, 50, correct) && many_echoes(*client_, server_address(), 150, 50, correct));
  EXPECT_EQ(correct, 200);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(RpcTcpTest, HandlerThatNeverAnswersTimesOutWithinTheDeadline) {
  Gate never(executor());
  Gate handler_cancelled(executor());
  server_->handle("hang", [&](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    try {
      co_await never.wait();
    } catch (const boost::system::system_error&) {
      handler_cancelled.release();
      throw;
    }
    co_return "unreachable";
  });
  server_->start();
  const auto start = std::chrono::steady_clock::now();
  try {
    run(client_->call(server_address(), "hang", "", 150ms));
    FAIL() << "call returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), RpcErrorCode::timeout);
    EXPECT_NE(std::string(e.what()).find("hang"), std::string::npos) << e.what();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 150ms + 500ms);
  // The server stops the handler once the caller's deadline passed.
  run(handler_cancelled.wait());
  // The connection stays usable.
  EXPECT_EQ(run(client_->call(server_address(), "echo", "still here", 1s)), "still here");
}

TEST_F(RpcTcpTest, UnreachablePeerGivesAClearError) {
  core::HostPort dead;
  {
    auto probe = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    dead = probe->local_address();
  }
  try {
    run(client_->call(dead, "echo", "", 1s));
    FAIL() << "call to a dead port returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), RpcErrorCode::unreachable);
    EXPECT_NE(std::string(e.what()).find(dead.to_string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(client_->connection_count(), 0u);
}

TEST_F(RpcTcpTest, RemoteErrorsComeBackAsRemote) {
  server_->handle("refuse", [](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    throw RpcError("no such file: a.txt");
    co_return "";
  });
  server_->handle("crash", [](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    throw std::runtime_error("bug");
    co_return "";
  });
  server_->start();
  try {
    run(client_->call(server_address(), "refuse", "", 1s));
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), RpcErrorCode::remote);
    EXPECT_NE(std::string(e.what()).find("no such file: a.txt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(code_of([&] { run(client_->call(server_address(), "crash", "", 1s)); }), RpcErrorCode::remote);
  try {
    run(client_->call(server_address(), "nope", "", 1s));
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), RpcErrorCode::remote);
    EXPECT_NE(std::string(e.what()).find("does not serve nope"), std::string::npos) << e.what();
  }
  // Errors do not break the connection.
  EXPECT_EQ(run(client_->call(server_address(), "echo", "ok", 1s)), "ok");
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(RpcTcpTest, ReconnectsAfterTheServerRestarts) {
  server_->start();
  EXPECT_EQ(run(client_->call(server_address(), "echo", "one", 1s)), "one");
  const core::HostPort address = server_address();
  run(server_->stop());
  server_.reset();
  server_network_.reset();

  server_network_ = TcpNetwork::listen(executor(), address);
  server_ = std::make_unique<RpcServer>(executor(), *server_network_, testing::test_limits());
  server_->handle("echo", testing::echo);
  server_->start();
  // The pooled connection died with the old server: at most the first call
  // may still see that; the next one reconnects.
  std::string reply;
  for (int attempt = 0; attempt < 2 && reply.empty(); ++attempt) {
    try {
      reply = run(client_->call(address, "echo", "two", 1s));
    } catch (const RpcError& e) {
      EXPECT_EQ(e.code(), RpcErrorCode::unreachable) << e.what();
    }
  }
  EXPECT_EQ(reply, "two");
}

TEST_F(RpcTcpTest, TypedHelpersRoundTripProtobufMessages) {
  // RpcFrame doubles as "some protobuf message type" here.
  handle_typed<RpcFrame, RpcFrame>(*server_, "typed", [](const RpcContext&, RpcFrame request) -> asio::awaitable<RpcFrame> {
    RpcFrame response;
    response.set_method(request.method() + "!");
    response.set_term(request.term() + 1);
    co_return response;
  });
  server_->start();
  RpcFrame request;
  request.set_method("vote");
  request.set_term(3);
  RpcFrame response = run(call_typed<RpcFrame>(*client_, server_address(), "typed", request, 1s));
  EXPECT_EQ(response.method(), "vote!");
  EXPECT_EQ(response.term(), 4u);
  // Bytes that are not the request type are answered with an error.
  EXPECT_EQ(code_of([&] { run(client_->call(server_address(), "typed", "\xff\xff\xff", 1s)); }),
            RpcErrorCode::remote);
}

TEST_F(RpcTcpTest, OversizedRequestIsRefusedLocally) {
  server_->start();
  const std::string huge(testing::test_limits().max_frame_bytes + 1, 'h');
  EXPECT_EQ(code_of([&] { run(client_->call(server_address(), "echo", huge, 1s)); }), RpcErrorCode::protocol);
  EXPECT_EQ(run(client_->call(server_address(), "echo", "small", 1s)), "small");
}

asio::awaitable<void> call_and_record(RpcClient& client, core::HostPort to, std::optional<RpcErrorCode>& code) {
  try {
    co_await client.call(to, "hang", "", 5s);
  } catch (const RpcError& e) {
    code = e.code();
  }
}

TEST_F(RpcTcpTest, StopFailsCallsInFlight) {
  Gate entered(executor());
  Gate never(executor());
  server_->handle("hang", [&](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    entered.release();
    co_await never.wait();
    co_return "";
  });
  server_->start();
  std::optional<RpcErrorCode> code;
  core::TaskGroup calls(executor());
  calls.spawn(call_and_record(*client_, server_address(), code));
  run(entered.wait());
  run(client_->stop());
  run(calls.join());
  EXPECT_EQ(code, RpcErrorCode::stopped);
  EXPECT_EQ(code_of([&] { run(client_->call(server_address(), "echo", "", 1s)); }), RpcErrorCode::stopped);
  // The handler waits on `never`, which lives in this scope: stop the
  // server (and so the handler) before it goes.
  run(server_->stop());
}

TEST_F(RpcTcpTest, WriteTimeoutFailsCallsToAPeerThatStoppedReading) {
  // A peer that accepts and then reads nothing, as a stopped process would:
  // once the kernel's buffers are full the write makes no progress.
  auto silent = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
  core::RpcSection limits = testing::test_limits();
  limits.max_frame_bytes = 32u * 1024 * 1024;
  limits.write_timeout_ms = 300;
  RpcClient client(executor(), *client_network_, limits);
  auto call = [&]() -> asio::awaitable<std::optional<RpcErrorCode>> {
    try {
      co_await client.call(silent->local_address(), "echo", std::string(30u * 1024 * 1024, 's'), 10s);
    } catch (const RpcError& e) {
      co_return e.code();
    }
    co_return std::nullopt;
  };
  auto hold = [&]() -> asio::awaitable<std::unique_ptr<Stream>> { co_return co_await silent->accept(); };
  const auto start = std::chrono::steady_clock::now();
  auto [code, accepted] = run([&]() -> asio::awaitable<std::tuple<std::optional<RpcErrorCode>, std::unique_ptr<Stream>>> {
    co_return co_await (call() && hold());
  });
  EXPECT_EQ(code, RpcErrorCode::unreachable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the call hung until its deadline";
  EXPECT_EQ(client.connection_count(), 0u);
  run(client.stop());
}

}  // namespace
}  // namespace idunno::net
