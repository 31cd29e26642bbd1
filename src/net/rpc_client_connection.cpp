#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/logging.hpp"
#include "core/timeout.hpp"
#include "net/keep_alive.hpp"
#include "net/rpc_client_impl.hpp"

namespace idunno::net {

namespace asio = boost::asio;

ClientConnection::ClientConnection(asio::any_io_executor executor, core::HostPort peer, core::RpcSection limits)
    : executor_(executor),
      peer_(std::move(peer)),
      limits_(limits),
      state_changed_(executor),
      tasks_(executor, "rpc_client_connection") {}

asio::awaitable<void> ClientConnection::run(StreamNetwork* network, std::function<void()> on_end) {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  auto self = shared_from_this();
  std::unique_ptr<Stream> stream;
  std::string connect_error;
  try {
    stream = co_await core::with_timeout(network->connect(peer_),
                                         std::chrono::milliseconds(limits_.connect_timeout_ms));
  } catch (const core::TimeoutError&) {
    connect_error = "connect timed out after " + std::to_string(limits_.connect_timeout_ms) + " ms";
  } catch (const std::exception& e) {
    connect_error = e.what();
  }
  if (state_ == State::failed) {  // stopped while connecting
    if (stream) stream->close();
    on_end();
    co_return;
  }
  if (!stream) {
    spdlog::debug("event=rpc_connect_failed peer={} reason={}", peer_.to_string(), core::log_quote(connect_error));
    fail(RpcErrorCode::unreachable, "cannot connect to " + peer_.to_string() + ": " + connect_error);
    on_end();
    co_return;
  }
  channel_.emplace(executor_, std::move(stream), limits_);
  state_ = State::open;
  state_changed_.notify_all();
  tasks_.spawn(keep_alive(self, write_requests()), "rpc_writer");

  RpcChannel::ReadResult read;
  for (;;) {
    read = co_await channel_->read_frame();
    if (!read.frame) break;
    auto it = pending_.find(read.frame->id());
    if (it == pending_.end()) {
      // A reply to a call that gave up (deadline) already.
      spdlog::debug("event=rpc_late_reply peer={} id={}", peer_.to_string(), read.frame->id());
      continue;
    }
    auto call = std::move(it->second);
    pending_.erase(it);
    call->reply = std::move(*read.frame);
    call->done.notify_all();
  }
  if (state_ != State::failed) {
    log_connection_closed(peer_, "client", read.reason, read.protocol_error);
    if (read.protocol_error) {
      fail(RpcErrorCode::protocol, peer_.to_string() + " broke the RPC protocol: " + read.reason);
    } else {
      fail(RpcErrorCode::unreachable, "connection to " + peer_.to_string() + " lost: " +
                                          (read.reason.empty() ? "closed by the peer" : read.reason));
    }
  }
  on_end();
  co_await tasks_.shutdown(std::chrono::milliseconds(100));
}

asio::awaitable<void> ClientConnection::write_requests() {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  std::string reason = co_await channel_->write_loop();
  if (!reason.empty() && state_ != State::failed) {
    log_connection_closed(peer_, "client", reason, true);
    fail(RpcErrorCode::unreachable, "connection to " + peer_.to_string() + " lost: " + reason);
  }
}

asio::awaitable<void> ClientConnection::wait_open() {
  while (state_ == State::connecting) co_await state_changed_.wait();
  if (state_ == State::failed) throw RpcError(failure_code_, failure_);
}

asio::awaitable<RpcFrame> ClientConnection::call(RpcFrame request, std::chrono::steady_clock::time_point deadline) {
  if (state_ != State::open) throw RpcError(failure_code_, failure_);
  const std::uint64_t id = next_id_++;
  request.set_id(id);
  std::string encoded;
  try {
    encoded = encode_frame(request, limits_.max_frame_bytes);
  } catch (const std::length_error& e) {
    throw RpcError(RpcErrorCode::protocol, "request " + request.method() + " to " + peer_.to_string() +
                                               " not sent: " + e.what());
  }
  auto call = std::make_shared<PendingCall>(executor_);
  pending_.emplace(id, call);
  // Whatever ends this call (reply, failure, deadline, cancellation), the id
  // is done and a frame still queued is dropped: the peer never sees it.
  struct Forget {
    ClientConnection& connection;
    std::shared_ptr<PendingCall> call;
    std::uint64_t id;
    ~Forget() {
      connection.pending_.erase(id);
      if (call->ticket && connection.channel_) connection.channel_->withdraw(*call->ticket);
    }
  } forget{*this, call, id};
  const auto sent_at = std::chrono::steady_clock::now();
  try {
    co_await core::with_timeout(send_and_wait(call, std::move(encoded)), deadline - sent_at);
  } catch (const core::TimeoutError&) {
    on_call_timed_out(sent_at);
    throw;
  }
  if (call->error) throw *call->error;
  co_return std::move(*call->reply);
}

asio::awaitable<void> ClientConnection::send_and_wait(std::shared_ptr<PendingCall> call, std::string encoded) {
  auto ticket = co_await channel_->enqueue(std::move(encoded));
  if (!ticket) {
    if (!call->finished()) call->error.emplace(failure_code_, failure_);
    co_return;
  }
  call->ticket = ticket;
  while (!call->finished()) co_await call->done.wait();
}

void ClientConnection::on_call_timed_out(std::chrono::steady_clock::time_point sent_at) {
  if (state_ != State::open || !channel_ || channel_->last_received() >= sent_at) return;
  const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                            channel_->last_received());
  spdlog::info("event=rpc_conn_replaced peer={} silent_ms={} reason=\"a call timed out with nothing received since it "
               "was sent\"",
               peer_.to_string(), silent.count());
  fail(RpcErrorCode::unreachable, "connection to " + peer_.to_string() + " replaced: nothing received for " +
                                      std::to_string(silent.count()) + " ms");
}

void ClientConnection::fail(RpcErrorCode code, const std::string& message) {
  if (state_ == State::failed) return;
  state_ = State::failed;
  failure_code_ = code;
  failure_ = message;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, call] : pending) {
    call->error.emplace(code, message);
    call->done.notify_all();
  }
  if (channel_) channel_->close();
  state_changed_.notify_all();
}

}  // namespace idunno::net
