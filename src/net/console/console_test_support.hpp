#pragma once
// Test support for the console: a fake command table, a fixture running a
// ConsoleServer on 127.0.0.1 (ephemeral port) on the test's io_context, and
// raw Beast helpers that speak HTTP and WebSocket without ConsoleClient.
//
// Why: the console must be tested as a browser or the CLI sees it, through
// real sockets, yet deterministically: client and server share one
// io_context driven by run() until the awaited result is ready. Header-only;
// for tests on one thread.

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/async_signal.hpp"
#include "net/console/console_server.hpp"
#include "net/test_util.hpp"

namespace idunno::net::console::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;

using Headers = std::vector<std::pair<std::string, std::string>>;
using WsStream = websocket::stream<beast::tcp_stream>;

// A command table for tests: help, echo ARGS..., fail, throw, and block
// (waits until a `release`), which lets a test hold a command in flight.
class FakeCommands {
 public:
  explicit FakeCommands(asio::any_io_executor executor) : released_signal_(std::move(executor)) {}

  CommandHandler handler() {
    return [this](std::string cmd, std::vector<std::string> args) { return run(std::move(cmd), std::move(args)); };
  }

  int blocked() const { return blocked_; }

 private:
  asio::awaitable<CommandOutcome> run(std::string cmd, std::vector<std::string> args) {
    if (cmd == "help") {
      co_return CommandOutcome::success(json::object{{"commands", json::array{"help", "echo", "fail", "block"}}});
    }
    if (cmd == "echo") {
      json::array echoed;
      for (auto& arg : args) echoed.emplace_back(arg);
      co_return CommandOutcome::success(json::object{{"args", std::move(echoed)}});
    }
    if (cmd == "fail") co_return CommandOutcome::failure("fail: it failed on purpose");
    if (cmd == "throw") throw std::runtime_error("the handler threw");
    if (cmd == "block") {
      ++blocked_;
      while (!released_) co_await released_signal_.wait();
      --blocked_;
      co_return CommandOutcome::success("released");
    }
    if (cmd == "release") {
      released_ = true;
      released_signal_.notify_all();
      co_return CommandOutcome::success(nullptr);
    }
    co_return CommandOutcome::failure("unknown command '" + cmd + "'; try help");
  }

  AsyncSignal released_signal_;
  bool released_ = false;
  int blocked_ = 0;
};

// Runs a ConsoleServer with FakeCommands on the test's io_context.
class ConsoleTest : public net::testing::CoroutineTest {
 protected:
  void start_server(std::string token = "", ConsoleLimits limits = {},
                    std::filesystem::path page = "no-such-dir/index.html") {
    server_ = std::make_unique<ConsoleServer>(
        executor(), core::HostPort{"127.0.0.1", 0}, commands_.handler(),
        [] { return std::string("# TYPE idunno_test_metric gauge\nidunno_test_metric 42\n"); }, std::move(token),
        std::move(page), limits);
    server_->start();
    address_ = server_->local_address();
  }

  void TearDown() override {
    if (server_) run(server_->stop(std::chrono::milliseconds(500)));
    server_.reset();
  }

  FakeCommands commands_{executor()};
  std::unique_ptr<ConsoleServer> server_;
  core::HostPort address_;
};

inline asio::awaitable<beast::tcp_stream> tcp_connect(core::HostPort address) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(
      asio::ip::tcp::endpoint(asio::ip::make_address(address.host), address.port), asio::use_awaitable);
  co_return stream;
}

// One GET over a fresh connection.
inline asio::awaitable<http::response<http::string_body>> http_get(core::HostPort address, std::string target,
                                                                   Headers headers = {}) {
  beast::tcp_stream stream = co_await tcp_connect(address);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, address.to_string());
  for (const auto& [name, value] : headers) request.set(name, value);
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(stream, buffer, response, asio::use_awaitable);
  co_return response;
}

// A raw WebSocket to the console, for frames ConsoleClient would never send.
class RawWs {
 public:
  explicit RawWs(std::unique_ptr<WsStream> ws) : ws_(std::move(ws)) {}

  asio::awaitable<void> send(std::string text) {
    ws_->text(true);
    co_await ws_->async_write(asio::buffer(text), asio::use_awaitable);
  }

  asio::awaitable<void> send_binary(std::string bytes) {
    ws_->binary(true);
    co_await ws_->async_write(asio::buffer(bytes), asio::use_awaitable);
  }

  asio::awaitable<json::value> receive() {
    beast::flat_buffer buffer;
    co_await ws_->async_read(buffer, asio::use_awaitable);
    co_return json::parse(beast::buffers_to_string(buffer.data()));
  }

  // Sends one frame and returns the next frame received.
  asio::awaitable<json::value> round_trip(std::string text) {
    co_await send(std::move(text));
    co_return co_await receive();
  }

  // Reads until the stream fails; returns the error (e.g. closed by the server).
  asio::awaitable<beast::error_code> read_until_closed() {
    for (;;) {
      beast::flat_buffer buffer;
      auto [error, bytes] = co_await ws_->async_read(buffer, asio::as_tuple(asio::use_awaitable));
      if (error) co_return error;
    }
  }

  WsStream& stream() { return *ws_; }

 private:
  std::unique_ptr<WsStream> ws_;
};

// A WebSocket handshake: the open socket, or the HTTP status it was refused with.
struct Handshake {
  std::unique_ptr<RawWs> ws;
  unsigned status = 0;  // 101 when open
  std::string body;
};

inline asio::awaitable<Handshake> ws_handshake(core::HostPort address, std::string target = "/ws",
                                               Headers headers = {}) {
  auto ws = std::make_unique<WsStream>(co_await tcp_connect(address));
  ws->set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
    for (const auto& [name, value] : headers) request.set(name, value);
  }));
  websocket::response_type response;
  auto [error] =
      co_await ws->async_handshake(response, address.to_string(), target, asio::as_tuple(asio::use_awaitable));
  Handshake result;
  result.status = response.result_int();
  result.body = response.body();
  if (!error) result.ws = std::make_unique<RawWs>(std::move(ws));
  co_return result;
}

}  // namespace idunno::net::console::testing
