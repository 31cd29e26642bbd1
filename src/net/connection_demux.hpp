#pragma once
// ConnectionDemux: one listening TCP port, several kinds of connection.
//
// Why: a node has one cluster address (--bind) for RPC and for file data,
// yet bulk bytes must never share a connection with heartbeats. So every
// cluster connection says what it carries in a 4-byte preface right after
// connect ("IDN" and a kind byte); the demultiplexer reads it from each
// accepted connection (within rpc.preface_timeout_ms: a connection that
// sends nothing, too little or garbage is closed with a logged reason) and
// hands the connection to the StreamNetwork of its kind. Each kind's
// network connects through the same underlying network and writes its
// preface, so RpcServer/RpcClient and the data-stream server/client keep
// taking a plain StreamNetwork& and run unchanged over TcpNetwork and
// FakeNetwork, each kind with its own connection pools.
//
// Owned by the composition root (ClusterTransport); the underlying network
// must outlive it. Touch only from the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

#include "core/task_group.hpp"
#include "net/stream.hpp"

namespace idunno::net {

// What a cluster connection carries.
enum class ConnectionKind : std::uint8_t {
  rpc = 'R',
  data_stream = 'S',
};

inline constexpr std::size_t preface_bytes = 4;

// The preface a connection of `kind` starts with.
std::array<std::uint8_t, preface_bytes> connection_preface(ConnectionKind kind);

class ConnectionDemux {
 public:
  // Accepted connections waiting for their kind's accept() before new ones
  // are turned away, and connections still owing their preface.
  static constexpr std::size_t max_waiting = 128;
  static constexpr std::size_t max_unannounced = 256;

  ConnectionDemux(boost::asio::any_io_executor executor, StreamNetwork& underlying,
                  std::chrono::milliseconds preface_timeout);
  ~ConnectionDemux();
  ConnectionDemux(const ConnectionDemux&) = delete;
  ConnectionDemux& operator=(const ConnectionDemux&) = delete;

  // The network of one kind: accept() yields connections that announced
  // it; connect() announces it. Valid while the demultiplexer lives.
  StreamNetwork& network(ConnectionKind kind);

  // Starts accepting on the underlying network. Call once.
  void start();

  // Stops accepting, closes connections not yet handed out and ends every
  // kind's accept(). Connections already handed out are their owners'.
  boost::asio::awaitable<void> stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace idunno::net
