// The RPC server under hostile input from raw sockets: a malformed,
// truncated or oversized frame closes that connection with a logged reason,
// and the server keeps serving everyone else.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/task_group.hpp"
#include "net/frame.hpp"
#include "net/rpc.hpp"
#include "net/rpc_test_support.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

std::string header(std::uint32_t length) {
  return std::string{static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length)};
}

// Sends `bytes` on a raw socket, optionally half-closes, then reads until
// the server closes the connection. Returns what the server sent.
asio::awaitable<std::string> send_raw(core::HostPort server, std::string bytes, bool half_close) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(server.host), server.port), asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable);
  if (half_close) socket.shutdown(tcp::socket::shutdown_send);
  std::string received;
  std::vector<char> buffer(4096);
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    received.append(buffer.data(), n);
    if (ec) break;  // eof or reset: the server closed the connection
  }
  co_return received;
}

// A fake "server" that answers any request with garbage. Spawned: the test
// keeps the network alive until its task group joins.
asio::awaitable<void> answer_with_garbage(StreamNetwork* network) {
  auto stream = co_await network->accept();
  std::vector<std::uint8_t> buffer(1024);
  co_await stream->read_some(buffer);
  const std::string garbage = header(3) + "\xff\xff\xff";
  co_await stream->write_all({reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size()});
  co_await stream->read_some(buffer);  // until the client hangs up
}

class RpcRobustnessTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    spdlog::default_logger()->sinks().push_back(log_);
    server_network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    client_network_ = TcpNetwork::connect_only(executor());
    server_ = std::make_unique<RpcServer>(executor(), *server_network_, testing::test_limits());
    client_ = std::make_unique<RpcClient>(executor(), *client_network_, testing::test_limits());
    server_->handle("echo", testing::echo);
    server_->start();
  }

  void TearDown() override {
    run(client_->stop());
    run(server_->stop());
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
  }

  // The server's log line about a closed connection, if any.
  std::string closed_line() const {
    for (const auto& line : log_->last_formatted()) {
      if (line.find("event=rpc_conn_closed side=server") != std::string::npos) return line;
    }
    return {};
  }

  // A well-behaved client still gets answers.
  void expect_still_serving() {
    EXPECT_EQ(run(client_->call(server_network_->local_address(), "echo", "still serving", 1s)), "still serving");
  }

  core::HostPort address() const { return server_network_->local_address(); }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::unique_ptr<TcpNetwork> server_network_;
  std::unique_ptr<TcpNetwork> client_network_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
};

TEST_F(RpcRobustnessTest, OversizedFrameClosesTheConnection) {
  expect_still_serving();  // a client connected before the attack
  EXPECT_EQ(run(send_raw(address(), header(testing::test_limits().max_frame_bytes + 1) + "xx", false)), "");
  EXPECT_NE(closed_line().find("oversized frame"), std::string::npos) << closed_line();
  EXPECT_NE(closed_line().find("peer=127.0.0.1:"), std::string::npos) << closed_line();
  expect_still_serving();
}

TEST_F(RpcRobustnessTest, MalformedFrameClosesTheConnection) {
  const std::string garbage = "\xff\xff\xff\xff\xff\xff";
  EXPECT_EQ(run(send_raw(address(), header(static_cast<std::uint32_t>(garbage.size())) + garbage, false)), "");
  EXPECT_NE(closed_line().find("malformed frame"), std::string::npos) << closed_line();
  expect_still_serving();
}

TEST_F(RpcRobustnessTest, TruncatedFrameClosesTheConnection) {
  EXPECT_EQ(run(send_raw(address(), header(100) + "only ten..", true)), "");
  EXPECT_NE(closed_line().find("truncated frame"), std::string::npos) << closed_line();
  expect_still_serving();
}

TEST_F(RpcRobustnessTest, RequestWithoutIdClosesTheConnection) {
  RpcFrame frame;
  frame.set_method("echo");
  EXPECT_EQ(run(send_raw(address(), encode_frame(frame, 1024), false)), "");
  EXPECT_NE(closed_line().find("request without id"), std::string::npos) << closed_line();
  expect_still_serving();
}

TEST_F(RpcRobustnessTest, ValidRequestsBeforeGarbageAreAnswered) {
  RpcFrame frame;
  frame.set_id(5);
  frame.set_method("echo");
  frame.set_payload("first");
  const std::string reply = run(send_raw(address(), encode_frame(frame, 1024) + header(1u << 30), false));
  FrameDecoder decoder(1024);
  decoder.feed({reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size()});
  DecodeResult decoded = decoder.next();
  // The reply may or may not make it out before the close; if it did, it is right.
  if (decoded.kind == DecodeResult::Kind::frame) {
    EXPECT_EQ(decoded.frame.id(), 5u);
    EXPECT_EQ(decoded.frame.payload(), "first");
  }
  EXPECT_NE(closed_line().find("oversized frame"), std::string::npos) << closed_line();
  expect_still_serving();
}

TEST_F(RpcRobustnessTest, ClientSurvivesAServerThatSendsGarbage) {
  auto rogue = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
  core::TaskGroup tasks(executor());
  tasks.spawn(answer_with_garbage(rogue.get()));
  try {
    run(client_->call(rogue->local_address(), "echo", "x", 1s));
    FAIL() << "garbage accepted as a reply";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), RpcErrorCode::protocol) << e.what();
  }
  run(tasks.join());
  expect_still_serving();
}

}  // namespace
}  // namespace idunno::net
