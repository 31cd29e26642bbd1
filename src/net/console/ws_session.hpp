#pragma once
// One WebSocket session of the console.
//
// Why: a dashboard or a CLI sends JSON request frames; each command runs
// concurrently through the node's handler (a slow `put` must not hold up a
// `list_mem`), while replies and subscribed events leave through a single
// writer, as a WebSocket allows one write at a time. The session owns its
// writer and in-flight commands in a task group and waits for them before
// it ends, so they may refer to it. It lives in the coroutine frame of the
// HTTP connection it was upgraded from. Touched only on the event loop.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <set>
#include <string>

#include "core/task_group.hpp"
#include "net/async_signal.hpp"
#include "net/console/console_context.hpp"
#include "net/console/ws_protocol.hpp"

namespace idunno::net::console {

class WsSession final : public ConsoleConnection {
 public:
  WsSession(std::shared_ptr<ConsoleContext> context, boost::beast::tcp_stream stream, std::string peer);
  ~WsSession() override;
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  // Completes the upgrade and serves the session until either side ends it.
  boost::asio::awaitable<void> run(boost::beast::http::request<boost::beast::http::string_body> upgrade);

  void request_close() override;
  void deliver_event(const std::string& topic, const Frame& frame) override;
  bool subscribed(const std::string& topic) const override { return topics_.contains(topic); }

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> run_command(WsRequest request);
  void on_text_frame(std::string_view text);
  void on_subscription(const WsRequest& request, bool subscribe);
  void send(std::string frame);
  // Closes the socket at once; reader and writer then end.
  void drop(const char* why);

  std::shared_ptr<ConsoleContext> context_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::string peer_;
  OutgoingQueue outgoing_;
  AsyncSignal outgoing_ready_;
  core::TaskGroup tasks_;  // the writer and the commands in flight
  std::set<std::string> topics_;
  std::size_t in_flight_ = 0;
  bool accepted_ = false;
  bool reading_done_ = false;    // the writer ends once the queue is empty
  bool close_requested_ = false; // the writer sends a close frame
  bool dropped_ = false;
};

}  // namespace idunno::net::console
