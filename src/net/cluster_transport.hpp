#pragma once
// ClusterTransport: everything a node needs on its one cluster TCP port,
// built and stopped in the right order.
//
// Why: the control plane (RPC: Raft, SWIM's TCP exchanges, coordinator
// calls) and the data plane (streams of file bytes) share the --bind port
// but never a connection, so that megabytes of a file never queue in front
// of a heartbeat. This object owns the TCP listener, the demultiplexer that
// routes each accepted connection by its preface, the RPC server and client
// on the RPC connections and the data-stream server and client on theirs.
// Services register RPC methods and stream handlers before start(); at
// shutdown, after the services that use it have stopped, stop() ends it
// all gracefully (streams are cancelled with "stopping", handlers get a
// bounded grace, connections close). Lives on the event loop; touch only
// from there.
//
// In the node's composition root:
//   transport = std::make_unique<net::ClusterTransport>(executor, config);  // binds
//   swim = ...(*udp, transport->rpc_server(), transport->rpc_client(), ...);
//   raft = ...(transport->rpc_server(), transport->rpc_client(), ...);
//   transport->start();
//   ...
//   co_await transport->stop();   // where rpc_server/rpc_client stopped before

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "core/config.hpp"
#include "net/connection_demux.hpp"
#include "net/data_stream_client.hpp"
#include "net/data_stream_server.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"
#include "net/stream.hpp"

namespace idunno::net {

class ClusterTransport {
 public:
  // Listens on config.node.bind (TCP) at once: throws NetError naming the
  // address when it cannot be bound. Uses the [rpc] and [stream] settings.
  ClusterTransport(boost::asio::any_io_executor executor, const core::Config& config);
  // Over any StreamNetwork (a FakeNetwork endpoint in tests); `network`
  // must outlive the transport.
  ClusterTransport(boost::asio::any_io_executor executor, StreamNetwork& network, const core::RpcSection& rpc,
                   const core::StreamSection& stream);
  ~ClusterTransport();
  ClusterTransport(const ClusterTransport&) = delete;
  ClusterTransport& operator=(const ClusterTransport&) = delete;

  RpcServer& rpc_server() { return *rpc_server_; }
  RpcClient& rpc_client() { return *rpc_client_; }
  // A second RPC client with connections of its own, for small urgent
  // messages that must not wait behind bulk ones on a stalled connection
  // (Raft's control lane, core/raft/lanes.hpp).
  RpcClient& control_rpc_client() { return *control_rpc_client_; }
  DataStreamServer& stream_server() { return *stream_server_; }
  DataStreamClient& stream_client() { return *stream_client_; }

  // The listening address (the real port when bound to port 0).
  core::HostPort local_address() const { return network_->local_address(); }

  // Starts accepting RPC and stream connections. Call once, after the
  // services registered their methods.
  void start();

  // Stops accepting, then stops the stream server and client, the RPC
  // server and client, each bounded. Idempotent.
  boost::asio::awaitable<void> stop();

 private:
  std::unique_ptr<TcpNetwork> owned_network_;
  StreamNetwork* network_;
  ConnectionDemux demux_;
  std::unique_ptr<RpcServer> rpc_server_;
  std::unique_ptr<RpcClient> rpc_client_;
  std::unique_ptr<RpcClient> control_rpc_client_;
  std::unique_ptr<DataStreamServer> stream_server_;
  std::unique_ptr<DataStreamClient> stream_client_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace idunno::net
