#pragma once
// Internals of RpcServer (internal to src/net): the shared server state and
// one accepted connection.
//
// Why: an accepted connection's coroutines (reader, writer, handlers) must
// keep their state alive on their own, and must not keep the server alive;
// so a ServerConnection is shared_ptr-owned by its coroutines and holds the
// server through a weak_ptr. Touch only from the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/task_group.hpp"
#include "net/async_signal.hpp"
#include "net/rpc_channel.hpp"
#include "net/rpc_server.hpp"

namespace idunno::net {

using RpcHandlerMap = std::map<std::string, RpcHandler, std::less<>>;

struct RpcServer::Impl : std::enable_shared_from_this<RpcServer::Impl> {
  Impl(boost::asio::any_io_executor ex, StreamNetwork& net, core::RpcSection rpc_limits)
      : executor(ex), network(net), limits(rpc_limits), tasks(ex, "rpc_server") {}

  static boost::asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  std::uint64_t current_term() const { return term_source ? term_source() : 0; }

  boost::asio::any_io_executor executor;
  StreamNetwork& network;
  core::RpcSection limits;
  std::shared_ptr<const RpcHandlerMap> handlers = std::make_shared<RpcHandlerMap>();
  std::function<std::uint64_t()> term_source;
  core::TaskGroup tasks;
  std::map<std::uint64_t, std::shared_ptr<class ServerConnection>> connections;
  std::uint64_t next_connection_id = 1;
  bool started = false;
  bool stopping = false;
};

// One accepted connection: reads requests, runs each in its own coroutine,
// writes responses as they complete. Back-pressure on a peer that floods:
// the reader stops reading while max_in_flight handlers run or their
// requests hold rpc.max_inflight_request_bytes; a peer that does not read
// its replies fills the bounded reply queue, which holds up the handlers,
// and so the reader, until the write timeout closes the connection.
// run() returns only after every handler it started has ended.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  static constexpr std::size_t max_in_flight = 1024;

  ServerConnection(std::weak_ptr<RpcServer::Impl> server, std::uint64_t id, std::unique_ptr<Stream> stream);

  // Serves until the peer leaves, breaks the protocol or close() is called.
  boost::asio::awaitable<void> run();
  void close() { channel_.close(); }

 private:
  boost::asio::awaitable<void> handle_request(RpcFrame request);
  boost::asio::awaitable<void> write_responses();
  boost::asio::awaitable<void> respond(RpcFrame response);
  // Reads and dispatches requests until the connection ends; returns why.
  boost::asio::awaitable<void> serve(std::string& reason, bool& problem);
  // Why this frame cannot be a request; empty when it can.
  static std::string invalid_request_reason(const RpcFrame& frame);

  std::weak_ptr<RpcServer::Impl> server_;
  std::uint64_t id_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<const RpcHandlerMap> handlers_;
  core::RpcSection limits_;
  RpcChannel channel_;
  core::TaskGroup tasks_;  // writer and handlers
  AsyncSignal handler_done_;
  std::size_t in_flight_request_bytes_ = 0;
};

}  // namespace idunno::net
