#pragma once
// RpcClient: calls cluster RPC methods on other nodes.
//
// Why: services call each other constantly; opening a TCP connection per
// call would cost a handshake and a port each time. The client keeps one
// connection per peer (opened on first use, reopened after it fails),
// multiplexes concurrent calls on it by request id (replies may arrive in
// any order), and bounds each call by its deadline: connecting, waiting for
// room in the connection's bounded queue and waiting for the reply. A call
// that gives up before its request was written withdraws it; a connection
// that has gone silent is replaced (see rpc_client_impl.hpp). Every coroutine it
// starts belongs to its task groups. Lives on the event loop; touch only
// from there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/rpc_error.hpp"
#include "net/stream.hpp"

namespace idunno::net {

// A reply with the responder's term (see RpcServer::set_term_source).
struct RpcReply {
  std::string payload;
  std::uint64_t term = 0;
};

class RpcClient {
 public:
  // `network` must outlive the client. limits.connect_timeout_ms bounds a
  // connection attempt (within the call's own deadline);
  // limits.max_frame_bytes bounds frames both ways.
  RpcClient(boost::asio::any_io_executor executor, StreamNetwork& network, core::RpcSection limits);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Calls `method` on `to` and returns the response payload. Throws
  // RpcError: unreachable (cannot connect / connection lost), timeout (no
  // reply within `deadline`), remote (the handler failed or the method is
  // unknown), protocol (the peer sent garbage), stopped (after stop()),
  // stale_term (a fenced method refused `term` as older than the
  // responder's; RpcError::term() is the responder's).
  boost::asio::awaitable<std::string> call(const core::HostPort& to, std::string method, std::string request,
                                           std::chrono::milliseconds deadline, std::uint64_t term = 0);

  // Same, also returning the responder's term.
  boost::asio::awaitable<RpcReply> call_with_term(const core::HostPort& to, std::string method,
                                                  std::string request, std::chrono::milliseconds deadline,
                                                  std::uint64_t term = 0);

  // Called on the loop with the term of every reply that carries one
  // (any status), before the call returns: a node learns of a newer term
  // from whoever answers it (Raft fencing). Default: none.
  void set_term_observer(std::function<void(std::uint64_t term)> observer);

  // Evidence that `peer` is reachable now (a message from it arrived): a
  // connection attempt to it pending for longer than a round trip should
  // take (its SYN may sit in the kernel's retransmission backoff since a
  // network cut) is abandoned, so that the next call connects at once.
  void peer_heard(const core::HostPort& peer);

  // Fails every pending call with `stopped`, closes every connection and
  // waits (bounded) for its coroutines to end.
  boost::asio::awaitable<void> stop();

  // Pooled connections right now, and the request bytes they have queued
  // but not yet written (for tests and metrics).
  std::size_t connection_count() const;
  std::size_t queued_bytes() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace idunno::net
