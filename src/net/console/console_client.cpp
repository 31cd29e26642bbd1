#include "net/console/console_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>

#include "core/timeout.hpp"

namespace idunno::net::console {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

std::string host_header(const core::HostPort& node) {
  const bool ipv6 = node.host.find(':') != std::string::npos && node.host.front() != '[';
  return (ipv6 ? "[" + node.host + "]" : node.host) + ":" + std::to_string(node.port);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Marks the client busy for one call; calls may not overlap.
class BusyGuard {
 public:
  explicit BusyGuard(bool& busy) : busy_(busy) {
    if (busy_) throw std::logic_error("ConsoleClient: one call at a time");
    busy_ = true;
  }
  ~BusyGuard() { busy_ = false; }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  bool& busy_;
};

}  // namespace

ConsoleClient::ConsoleClient(asio::any_io_executor executor, ConsoleClientOptions options)
    : executor_(std::move(executor)), options_(options) {}

asio::awaitable<void> ConsoleClient::connect(core::HostPort node, std::string token) {
  if (ws_) throw std::logic_error("ConsoleClient::connect called on an open client");
  node_ = node;
  const std::string where = node.to_string();
  const auto unreachable = [&](const std::string& what, const boost::system::error_code& error) {
    return ConsoleUnreachable("could not reach the node's console at " + where + ": " + what + " (" +
                              error.message() + "); is idunno-node running with --console " + where + "?");
  };

  asio::ip::tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(node.host, std::to_string(node.port), as_tuple(use_awaitable));
  if (resolve_error) throw unreachable("cannot resolve the host", resolve_error);

  beast::tcp_stream stream(executor_);
  stream.expires_after(options_.connect_timeout);
  auto [connect_error, endpoint] = co_await stream.async_connect(endpoints, as_tuple(use_awaitable));
  if (connect_error) throw unreachable("cannot connect", connect_error);
  stream.expires_never();

  websocket::stream<beast::tcp_stream> ws(std::move(stream));
  websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  timeouts.handshake_timeout = options_.connect_timeout;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& request) {
    request.set(beast::http::field::user_agent, "idunno");
    if (!token.empty()) request.set(beast::http::field::authorization, "Bearer " + token);
  }));
  ws.read_message_max(options_.max_frame_bytes);

  websocket::response_type response;
  auto [handshake_error] = co_await ws.async_handshake(response, host_header(node), "/ws", as_tuple(use_awaitable));
  if (handshake_error == websocket::error::upgrade_declined) {
    const auto status = response.result_int();
    const std::string body = trimmed(response.body());
    if (status == 401 || status == 403) throw ConsoleAuthError("the node at " + where + " refused us: " + body);
    throw ConsoleError("the node at " + where + " declined the console connection (HTTP " +
                       std::to_string(status) + "): " + body);
  }
  if (handshake_error) throw unreachable("the WebSocket handshake failed", handshake_error);
  ws_.emplace(std::move(ws));
}

asio::awaitable<ConsoleReply> ConsoleClient::call(std::string cmd, std::vector<std::string> args) {
  if (!ws_) throw ConsoleError("not connected to a node's console");
  BusyGuard guard(busy_);
  const std::int64_t id = next_id_++;
  std::string request = request_frame(id, cmd, args);
  if (options_.call_timeout.count() <= 0) co_return co_await exchange(id, std::move(request));
  try {
    co_return co_await core::with_timeout(exchange(id, std::move(request)), options_.call_timeout);
  } catch (const core::TimeoutError&) {
    // The stream is in an unknown state after a cancelled read.
    ws_.reset();
    throw ConsoleUnreachable("no reply from the node at " + node_.to_string() + " to '" + cmd + "' within " +
                             std::to_string(options_.call_timeout.count()) + " ms");
  }
}

asio::awaitable<ConsoleReply> ConsoleClient::exchange(std::int64_t id, std::string request) {
  ws_->text(true);
  auto [write_error, written] = co_await ws_->async_write(asio::buffer(request), as_tuple(use_awaitable));
  if (write_error) lost("sending the request", write_error);
  for (;;) {
    auto frame = parse_server_frame(co_await read_frame());
    if (auto* event = std::get_if<WsEvent>(&frame)) {
      keep_event(std::move(*event));
      continue;
    }
    if (auto* unreadable = std::get_if<WsUnreadable>(&frame)) {
      throw ConsoleError("the node at " + node_.to_string() + " sent an unreadable frame: " + unreadable->error);
    }
    auto& reply = std::get<WsReply>(frame);
    // A null id answers a request the node could not read: with one call in
    // flight, that is ours. Other ids answer calls given up on earlier.
    if (reply.id.is_null() || (reply.id.is_int64() && reply.id.get_int64() == id)) {
      co_return ConsoleReply{std::move(reply.outcome), std::move(reply.raw)};
    }
  }
}

asio::awaitable<WsEvent> ConsoleClient::next_event() {
  if (!ws_) throw ConsoleError("not connected to a node's console");
  BusyGuard guard(busy_);
  while (events_.empty()) {
    auto frame = parse_server_frame(co_await read_frame());
    if (auto* event = std::get_if<WsEvent>(&frame)) keep_event(std::move(*event));
    if (auto* unreadable = std::get_if<WsUnreadable>(&frame)) {
      throw ConsoleError("the node at " + node_.to_string() + " sent an unreadable frame: " + unreadable->error);
    }
  }
  WsEvent event = std::move(events_.front());
  events_.pop_front();
  co_return event;
}

asio::awaitable<std::string> ConsoleClient::read_frame() {
  beast::flat_buffer buffer;
  auto [error, bytes] = co_await ws_->async_read(buffer, as_tuple(use_awaitable));
  if (error) lost("waiting for the reply", error);
  co_return beast::buffers_to_string(buffer.data());
}

void ConsoleClient::keep_event(WsEvent event) {
  if (events_.size() >= options_.max_buffered_events) events_.pop_front();
  events_.push_back(std::move(event));
}

void ConsoleClient::lost(const std::string& what, const boost::system::error_code& error) {
  const std::string where = node_.to_string();
  if (error == websocket::error::closed) {
    const websocket::close_reason reason = ws_->reason();
    ws_.reset();
    if (reason.code == websocket::close_code::too_big) {
      throw ConsoleError("the node at " + where + " closed the connection: the request was too large");
    }
    throw ConsoleUnreachable("the node at " + where + " closed the console connection (code " +
                             std::to_string(reason.code) +
                             (reason.reason.empty() ? std::string() : ": " + std::string(reason.reason.data(), reason.reason.size())) + ")");
  }
  ws_.reset();
  throw ConsoleUnreachable("lost the connection to the node at " + where + " while " + what + ": " +
                           error.message());
}

asio::awaitable<void> ConsoleClient::close() {
  if (!ws_) co_return;
  // A node that went away meanwhile makes the close fail; closed either way.
  co_await ws_->async_close(websocket::close_code::normal, as_tuple(use_awaitable));
  ws_.reset();
}

}  // namespace idunno::net::console
