#pragma once
// Internals of RpcClient (internal to src/net): the connection pool and one
// pooled connection with its calls in flight.
//
// Why: many calls share one connection per peer; a call waits for its own
// reply (matched by id) while the connection's reader delivers replies in
// whatever order they come. A connection that fails fails its calls and
// leaves the pool, so the next call reconnects.
//
// Dead connections: after a network cut, a connection whose segments sat
// in the kernel's retransmission backoff stays stuck for seconds after the
// link is back (the next retransmission is due only then, and everything
// sent since queues behind it), while a new connection would work at once.
// So a call that times out with nothing at all received on its connection
// since it was sent closes that connection: the next call reconnects. With
// Raft's heartbeats every 40 ms and 300 ms message deadlines, a dead
// connection is replaced about 300 ms after it stopped answering.
// TCP_USER_TIMEOUT (rpc.tcp_user_timeout_ms) is the kernel's backstop.
//
// Coroutines hold what they use through shared_ptr. Touch only from the
// event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/task_group.hpp"
#include "net/async_signal.hpp"
#include "net/rpc_channel.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_error.hpp"

namespace idunno::net {

// One call waiting for its reply.
struct PendingCall {
  explicit PendingCall(boost::asio::any_io_executor executor) : done(std::move(executor)) {}
  std::optional<RpcFrame> reply;
  std::optional<RpcError> error;
  std::optional<std::uint64_t> ticket;  // its frame in the channel's queue
  AsyncSignal done;
  bool finished() const { return reply.has_value() || error.has_value(); }
};

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  enum class State { connecting, open, failed };

  ClientConnection(boost::asio::any_io_executor executor, core::HostPort peer, core::RpcSection limits);

  // Connects, then reads replies until the connection ends. Run by the
  // client's task group; `on_end` removes the connection from the pool.
  // `network` must outlive the client (RpcClient's contract).
  boost::asio::awaitable<void> run(StreamNetwork* network, std::function<void()> on_end);

  // Waits while connecting; throws RpcError(unreachable) when it failed.
  boost::asio::awaitable<void> wait_open();

  // Sends a request and waits for its reply until `deadline` (cancellable).
  // Throws RpcError; core::TimeoutError when the deadline passed.
  boost::asio::awaitable<RpcFrame> call(RpcFrame request, std::chrono::steady_clock::time_point deadline);

  // Fails every call in flight and closes the stream.
  void fail(RpcErrorCode code, const std::string& message);

  State state() const { return state_; }
  std::chrono::steady_clock::time_point created_at() const { return created_at_; }
  std::size_t queued_bytes() const { return channel_ ? channel_->queued_bytes() : 0; }
  std::size_t in_flight() const { return pending_.size(); }

 private:
  boost::asio::awaitable<void> write_requests();
  boost::asio::awaitable<void> send_and_wait(std::shared_ptr<PendingCall> call, std::string encoded);
  // A call sent at `sent_at` timed out: close the connection if nothing
  // arrived on it since.
  void on_call_timed_out(std::chrono::steady_clock::time_point sent_at);

  boost::asio::any_io_executor executor_;
  core::HostPort peer_;
  core::RpcSection limits_;
  State state_ = State::connecting;
  std::chrono::steady_clock::time_point created_at_ = std::chrono::steady_clock::now();
  RpcErrorCode failure_code_ = RpcErrorCode::unreachable;
  std::string failure_;
  AsyncSignal state_changed_;
  std::optional<RpcChannel> channel_;
  std::map<std::uint64_t, std::shared_ptr<PendingCall>> pending_;
  std::uint64_t next_id_ = 1;
  core::TaskGroup tasks_;  // the writer
};

struct RpcClient::Impl : std::enable_shared_from_this<RpcClient::Impl> {
  Impl(boost::asio::any_io_executor ex, StreamNetwork& net, core::RpcSection rpc_limits)
      : executor(ex), network(net), limits(rpc_limits), tasks(ex, "rpc_client") {}

  // The pooled connection to `to`, starting one if there is none (or only a
  // failed one).
  std::shared_ptr<ClientConnection> connection_to(const core::HostPort& to);

  boost::asio::any_io_executor executor;
  StreamNetwork& network;
  core::RpcSection limits;
  core::TaskGroup tasks;  // connection runners
  std::map<core::HostPort, std::shared_ptr<ClientConnection>> pool;
  std::function<void(std::uint64_t)> term_observer;  // see RpcClient::set_term_observer
  bool stopped = false;
};

}  // namespace idunno::net
