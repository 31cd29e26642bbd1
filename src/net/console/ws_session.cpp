#include "net/console/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/array.hpp>
#include <spdlog/spdlog.h>

namespace idunno::net::console {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;

WsSession::WsSession(std::shared_ptr<ConsoleContext> context, beast::tcp_stream stream, std::string peer)
    : context_(std::move(context)),
      ws_(std::move(stream)),
      peer_(std::move(peer)),
      outgoing_(context_->limits.max_queued_frames, context_->limits.max_queued_bytes),
      outgoing_ready_(context_->executor),
      tasks_(context_->executor, "console_ws") {
  ++context_->ws_sessions;
  ++context_->counters.ws_sessions_total;
}

WsSession::~WsSession() { --context_->ws_sessions; }

asio::awaitable<void> WsSession::run(beast::http::request<beast::http::string_body> upgrade) {
  const ConsoleLimits& limits = context_->limits;
  websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = limits.handshake_timeout;
  timeouts.idle_timeout = limits.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(beast::http::field::server, "idunno-console"); }));
  ws_.read_message_max(limits.max_frame_bytes);

  auto [accept_error] = co_await ws_.async_accept(upgrade, as_tuple(use_awaitable));
  if (accept_error) {
    spdlog::info("event=console_ws_handshake_failed peer={} error=\"{}\"", peer_, accept_error.message());
    co_return;
  }
  accepted_ = true;
  spdlog::debug("event=console_ws_open peer={}", peer_);
  tasks_.spawn(write_loop(), "console_ws_writer");

  co_await read_loop();

  // Commands still running get a moment to finish (their replies are lost),
  // then are cancelled; the writer ends once it sees reading_done_.
  reading_done_ = true;
  outgoing_ready_.notify_all();
  co_await tasks_.shutdown(limits.close_grace);
  spdlog::debug("event=console_ws_closed peer={}", peer_);
}

asio::awaitable<void> WsSession::read_loop() {
  for (;;) {
    beast::flat_buffer buffer;
    auto [error, bytes] = co_await ws_.async_read(buffer, as_tuple(use_awaitable));
    if (error) {
      if (error == websocket::error::message_too_big) {
        spdlog::info("event=console_ws_frame_too_big peer={} limit_bytes={}", peer_, context_->limits.max_frame_bytes);
      }
      co_return;
    }
    if (!ws_.got_text()) {
      ++context_->counters.malformed_frames_total;
      send(error_frame(nullptr, "binary frames are not supported; send JSON requests as text frames"));
      continue;
    }
    on_text_frame(beast::buffers_to_string(buffer.data()));
  }
}

void WsSession::on_text_frame(std::string_view text) {
  auto parsed = parse_request(text);
  if (auto* bad = std::get_if<WsBadRequest>(&parsed)) {
    ++context_->counters.malformed_frames_total;
    send(error_frame(bad->id, bad->error));
    return;
  }
  WsRequest& request = std::get<WsRequest>(parsed);
  ++context_->counters.commands_total;
  if (request.cmd == "subscribe" || request.cmd == "unsubscribe") {
    on_subscription(request, request.cmd == "subscribe");
    return;
  }
  if (in_flight_ >= context_->limits.max_in_flight) {
    send(error_frame(request.id, "too many commands in flight on this connection (limit " +
                                     std::to_string(context_->limits.max_in_flight) +
                                     "); wait for replies before sending more"));
    return;
  }
  ++in_flight_;
  tasks_.spawn(run_command(std::move(request)), "console_command");
}

void WsSession::on_subscription(const WsRequest& request, bool subscribe) {
  if (request.args.empty()) {
    send(error_frame(request.id, request.cmd + " needs a topic, e.g. {\"cmd\":\"" + request.cmd +
                                     "\",\"args\":[\"events\"]}"));
    return;
  }
  for (const auto& topic : request.args) {
    if (topic.empty()) {
      send(error_frame(request.id, request.cmd + ": a topic name is empty"));
      return;
    }
  }
  for (const auto& topic : request.args) {
    if (subscribe) {
      topics_.insert(topic);
    } else {
      topics_.erase(topic);
    }
  }
  json::array topics;
  for (const auto& topic : topics_) topics.emplace_back(topic);
  send(reply_frame(request.id, CommandOutcome::success(json::object{{"subscribed", std::move(topics)}})));
}

asio::awaitable<void> WsSession::run_command(WsRequest request) {
  std::string reply;
  bool cancelled = false;
  try {
    CommandOutcome outcome = co_await context_->handler(request.cmd, request.args);
    reply = reply_frame(request.id, outcome);
  } catch (const boost::system::system_error& e) {
    cancelled = e.code() == asio::error::operation_aborted;
    if (!cancelled) reply = error_frame(request.id, request.cmd + ": " + e.what());
  } catch (const std::exception& e) {
    reply = error_frame(request.id, request.cmd + ": " + e.what());
  }
  --in_flight_;
  if (!cancelled) send(std::move(reply));
}

void WsSession::send(std::string frame) {
  if (dropped_) return;
  outgoing_.push_reply(std::make_shared<const std::string>(std::move(frame)));
  outgoing_ready_.notify_all();
}

void WsSession::deliver_event(const std::string& topic, const Frame& frame) {
  if (!accepted_ || dropped_ || close_requested_ || reading_done_ || !topics_.contains(topic)) return;
  if (!outgoing_.push_event(frame)) {
    ++context_->counters.subscribers_dropped_total;
    spdlog::warn("event=console_subscriber_dropped peer={} queued_frames={} queued_bytes={}", peer_, outgoing_.size(),
                 outgoing_.bytes());
    drop("slow subscriber");
    return;
  }
  outgoing_ready_.notify_all();
}

asio::awaitable<void> WsSession::write_loop() {
  for (;;) {
    if (dropped_) co_return;
    if (!outgoing_.empty()) {
      const Frame frame = outgoing_.pop();
      ws_.text(true);
      auto [error, bytes] = co_await ws_.async_write(asio::buffer(*frame), as_tuple(use_awaitable));
      if (error) {
        drop("write failed");
        co_return;
      }
      continue;
    }
    if (close_requested_) {
      auto [error] = co_await ws_.async_close(websocket::close_code::going_away, as_tuple(use_awaitable));
      if (error) drop("close failed");
      co_return;
    }
    if (reading_done_) co_return;
    co_await outgoing_ready_.wait();
  }
}

void WsSession::request_close() {
  if (!accepted_) {
    drop("server stopping");
    return;
  }
  close_requested_ = true;
  outgoing_ready_.notify_all();
}

void WsSession::drop(const char* why) {
  if (dropped_) return;
  dropped_ = true;
  spdlog::debug("event=console_ws_dropped peer={} reason=\"{}\"", peer_, why);
  beast::error_code ignored;
  auto& socket = beast::get_lowest_layer(ws_).socket();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  outgoing_ready_.notify_all();
}

}  // namespace idunno::net::console
