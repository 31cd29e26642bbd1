#pragma once
// One TCP connection to the console, speaking HTTP/1.1 until it is upgraded
// to a WebSocket.
//
// Why: every request passes the same access check before anything is
// served; plain requests (/healthz, /metrics, /) are answered in place with
// keep-alive, and an authorised upgrade on /ws hands the stream to a
// WsSession that lives on in this connection's coroutine. Touched only on
// the event loop.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>

#include "net/console/console_context.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::net::console {

class HttpSession final : public ConsoleConnection {
 public:
  HttpSession(std::shared_ptr<ConsoleContext> context, boost::asio::ip::tcp::socket socket,
              ConnectionRegistration registration);
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  boost::asio::awaitable<void> run();
  void request_close() override;

 private:
  boost::asio::awaitable<void> refuse_too_large();
  // Runs a streaming route; true when the connection can take another
  // request.
  boost::asio::awaitable<bool> serve_stream(StreamHandler handler, StreamExchange::Parser* parser,
                                            boost::beast::flat_buffer* buffer, RequestTarget target);

  std::shared_ptr<ConsoleContext> context_;
  boost::beast::tcp_stream stream_;
  std::string peer_;
  ConnectionRegistration registration_;
  bool waiting_for_request_ = false;
  bool close_requested_ = false;
};

// The coroutine that serves one accepted connection (owned by the console's
// task group).
boost::asio::awaitable<void> serve_connection(std::shared_ptr<ConsoleContext> context,
                                              boost::asio::ip::tcp::socket socket,
                                              ConnectionRegistration registration);

// Answers one request on a connection over the limit with 503, then closes.
boost::asio::awaitable<void> refuse_connection(std::shared_ptr<ConsoleContext> context,
                                               boost::asio::ip::tcp::socket socket);

}  // namespace idunno::net::console
