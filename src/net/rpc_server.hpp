#pragma once
// RpcServer: serves cluster RPC methods on a StreamNetwork's listening
// address.
//
// Why: every service (Raft, SDFS, scheduler, SWIM push-pull) exposes
// request/response methods on the node's one TCP port. The server accepts
// connections, decodes frames, runs each request's handler as its own
// coroutine (so a slow request does not hold up others on the same
// connection: responses go out in completion order) and writes the
// responses. A connection that sends a malformed, truncated or oversized
// frame is closed with a logged reason (`event=rpc_conn_closed`); everyone
// else keeps being served. Every coroutine it starts belongs to its task
// groups. Lives on the event loop; touch only from there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/stream.hpp"

namespace idunno::net {

// What a handler knows about the call besides its payload.
struct RpcContext {
  core::HostPort peer;       // the remote end of the connection (over TCP its port is
                             // the caller's ephemeral one: name nodes in the payload)
  std::uint64_t term = 0;    // the caller's term (Raft fencing), 0 if unused
  std::string method;
  std::chrono::milliseconds deadline{0};  // the caller's deadline, 0 if none
};

// A handler gets the context and the serialized request of its service's
// own message type and returns the serialized response, or throws RpcError
// (answered as an error status, or as stale_term for that code, see
// net/fencing.hpp; other exceptions are answered as an
// internal error and logged). The handler runs on the server's executor and
// is cancelled when the caller's deadline has passed or the server stops.
using RpcHandler = std::function<boost::asio::awaitable<std::string>(const RpcContext&, std::string request)>;

class RpcServer {
 public:
  // `network` must outlive the server. limits.max_frame_bytes bounds every
  // frame in both directions.
  RpcServer(boost::asio::any_io_executor executor, StreamNetwork& network, core::RpcSection limits);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Registers `method`; replaces an earlier handler of the same name.
  // Register before start().
  void handle(std::string method, RpcHandler handler);

  // The term stamped on responses (e.g. the node's current Raft term).
  // Default: responses carry 0.
  void set_term_source(std::function<std::uint64_t()> term_source);

  // Starts the accept loop. Call once.
  void start();

  // Stops accepting, cancels running handlers, closes every connection and
  // waits (bounded) for all of it to end.
  boost::asio::awaitable<void> stop();

  // Open connections right now (for tests and metrics).
  std::size_t connection_count() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace idunno::net
