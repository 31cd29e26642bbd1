#pragma once
// The node's cluster transport: net::ClusterTransport (the TCP listener, the
// connection demultiplexer, RPC and data streams) and the UDP socket
// membership uses, all on node.bind.
//
// Why: every service that talks to other nodes does so through what this
// one owns, so the sockets are bound in one place (a port in use fails the
// start with the address named) and closed last. Services above register
// their RPC methods and stream handlers in their constructors; start() then
// opens the port to callers, so no request arrives before its handler
// exists. The accessors are the whole surface.
//
// Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "cli/service.hpp"
#include "core/config.hpp"
#include "net/cluster_transport.hpp"
#include "net/datagram.hpp"
#include "net/fencing.hpp"

namespace idunno::cli {

class TransportService final : public Service {
 public:
  // Binds TCP and UDP on config.node.bind; throws naming the address.
  TransportService(boost::asio::any_io_executor executor, const core::Config& config);
  ~TransportService() override;

  std::string_view name() const override { return "transport"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  net::RpcServer& rpc_server() { return cluster_->rpc_server(); }
  net::RpcClient& rpc_client() { return cluster_->rpc_client(); }
  net::RpcClient& control_rpc_client() { return cluster_->control_rpc_client(); }
  net::DataStreamServer& stream_server() { return cluster_->stream_server(); }
  net::DataStreamClient& stream_client() { return cluster_->stream_client(); }
  net::DatagramTransport& datagrams() { return *udp_; }
  // The node's fence for coordinator commands (see net/fencing.hpp).
  net::TermFence& fence() { return fence_; }

 private:
  std::unique_ptr<net::ClusterTransport> cluster_;
  std::unique_ptr<net::DatagramTransport> udp_;
  net::TermFence fence_;
};

}  // namespace idunno::cli
