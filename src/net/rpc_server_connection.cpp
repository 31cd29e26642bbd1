#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "core/logging.hpp"
#include "core/timeout.hpp"
#include "net/keep_alive.hpp"
#include "net/rpc_error.hpp"
#include "net/rpc_server_impl.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {
// How long a closing connection lets its handlers finish.
constexpr std::chrono::milliseconds close_grace{200};
}  // namespace

ServerConnection::ServerConnection(std::weak_ptr<RpcServer::Impl> server, std::uint64_t id,
                                   std::unique_ptr<Stream> stream)
    : server_(server),
      id_(id),
      executor_(server.lock()->executor),
      handlers_(server.lock()->handlers),
      limits_(server.lock()->limits),
      channel_(executor_, std::move(stream), limits_),
      tasks_(executor_, "rpc_server_connection"),
      handler_done_(executor_) {}

std::string ServerConnection::invalid_request_reason(const RpcFrame& frame) {
  if (frame.id() == 0) return "protocol violation: request without id";
  if (frame.method().empty()) return "protocol violation: request without method";
  return {};
}

asio::awaitable<void> ServerConnection::run() {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  auto self = shared_from_this();
  tasks_.spawn(keep_alive(self, write_responses()), "rpc_writer");
  std::string reason;
  bool problem = false;
  std::exception_ptr cancelled;
  try {
    co_await serve(reason, problem);
  } catch (...) {
    // Cancelled while waiting for room (server stop): still wait for the
    // handlers below, so that stop() never returns while one runs.
    cancelled = std::current_exception();
    reason = "server stopping";
  }
  log_connection_closed(channel_.peer(), "server", reason, problem);
  channel_.close();
  if (auto server = server_.lock()) server->connections.erase(id_);
  // Once cancelled, every co_await would throw at once; wait for the
  // handlers all the same (the task group cancels them).
  co_await asio::this_coro::throw_if_cancelled(false);
  co_await tasks_.shutdown(close_grace);
  if (cancelled) std::rethrow_exception(cancelled);
}

asio::awaitable<void> ServerConnection::serve(std::string& reason, bool& problem) {
  auto self = shared_from_this();
  for (;;) {
    RpcChannel::ReadResult read = co_await channel_.read_frame();
    if (!read.frame) {
      reason = read.reason;
      problem = read.protocol_error;
      co_return;
    }
    if (reason = invalid_request_reason(*read.frame); !reason.empty()) {
      problem = true;
      co_return;
    }
    // Stop reading while too much is in flight; one request larger than
    // the byte budget runs alone.
    const std::size_t bytes = read.frame->payload().size();
    while (!channel_.closed() &&
           (tasks_.size() > max_in_flight ||
            (in_flight_request_bytes_ > 0 && in_flight_request_bytes_ + bytes > limits_.max_inflight_request_bytes))) {
      co_await handler_done_.wait();
    }
    if (channel_.closed()) {
      reason = "closed locally";
      co_return;
    }
    in_flight_request_bytes_ += bytes;
    tasks_.spawn(keep_alive(self, handle_request(std::move(*read.frame))), "rpc_handler");
  }
}

asio::awaitable<void> ServerConnection::write_responses() {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  std::string reason = co_await channel_.write_loop();
  if (!reason.empty()) {
    log_connection_closed(channel_.peer(), "server", reason, true);
    channel_.close();
  }
}

asio::awaitable<void> ServerConnection::respond(RpcFrame response) {
  if (channel_.closed()) co_return;
  if (auto server = server_.lock()) response.set_term(server->current_term());
  std::string encoded;
  try {
    encoded = encode_frame(response, limits_.max_frame_bytes);
  } catch (const std::length_error&) {
    spdlog::warn("event=rpc_response_too_large peer={} id={} bytes={} limit={}", channel_.peer().to_string(),
                 response.id(), response.payload().size(), limits_.max_frame_bytes);
    response.clear_payload();
    response.set_status(static_cast<std::uint32_t>(RpcStatus::error));
    response.set_error("response exceeds rpc.max_frame_bytes (" + std::to_string(limits_.max_frame_bytes) + ")");
    encoded = encode_frame(response, limits_.max_frame_bytes);
  }
  // Waits for room in the reply queue: a peer that does not read its
  // replies holds up this handler, not the node's memory.
  co_await channel_.enqueue(std::move(encoded));
}

asio::awaitable<void> ServerConnection::handle_request(RpcFrame request) {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  // Frees the request's share of the in-flight budget however the handler
  // ends.
  struct Release {
    ServerConnection& connection;
    std::size_t bytes;
    ~Release() {
      connection.in_flight_request_bytes_ -= std::min(connection.in_flight_request_bytes_, bytes);
      connection.handler_done_.notify_all();
    }
  } release{*this, request.payload().size()};

  RpcFrame response;
  response.set_id(request.id());
  auto it = handlers_->find(request.method());
  if (it == handlers_->end()) {
    response.set_status(static_cast<std::uint32_t>(RpcStatus::unknown_method));
    response.set_error("unknown method " + request.method());
    co_await respond(std::move(response));
    co_return;
  }
  RpcHandler handler = it->second;  // owns the handler for this call
  RpcContext context{channel_.peer(), request.term(), request.method(),
                     std::chrono::milliseconds(request.deadline_ms())};
  const auto started = std::chrono::steady_clock::now();
  try {
    std::string payload;
    if (context.deadline.count() > 0) {
      payload = co_await core::with_timeout(handler(context, std::move(*request.mutable_payload())), context.deadline);
    } else {
      payload = co_await handler(context, std::move(*request.mutable_payload()));
    }
    response.set_payload(std::move(payload));
  } catch (const core::TimeoutError&) {
    if (std::chrono::steady_clock::now() - started >= context.deadline) {
      // The caller has given up; nobody reads an answer.
      spdlog::debug("event=rpc_handler_deadline method={} peer={} deadline_ms={}", context.method,
                    context.peer.to_string(), context.deadline.count());
      co_return;
    }
    response.set_status(static_cast<std::uint32_t>(RpcStatus::error));
    response.set_error("timed out");
  } catch (const RpcError& e) {
    const auto status = e.code() == RpcErrorCode::stale_term ? RpcStatus::stale_term : RpcStatus::error;
    response.set_status(static_cast<std::uint32_t>(status));
    response.set_error(e.what());
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted && channel_.closed()) co_return;
    spdlog::warn("event=rpc_handler_failed method={} peer={} error={}", context.method, context.peer.to_string(),
                 core::log_quote(e.what()));
    response.set_status(static_cast<std::uint32_t>(RpcStatus::error));
    response.set_error(std::string("internal error: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::warn("event=rpc_handler_failed method={} peer={} error={}", context.method, context.peer.to_string(),
                 core::log_quote(e.what()));
    response.set_status(static_cast<std::uint32_t>(RpcStatus::error));
    response.set_error(std::string("internal error: ") + e.what());
  }
  co_await respond(std::move(response));
}

}  // namespace idunno::net
