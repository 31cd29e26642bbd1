#pragma once
// The node's cluster transport: the TCP listener, the RPC server and client
// on it, and the UDP socket membership uses, all on node.bind.
//
// Why: every service that talks to other nodes does so through what this
// one owns, so the sockets are bound in one place (a port in use fails the
// start with the address named) and closed last. Services above register
// their RPC methods in their constructors; start() then opens the RPC
// server to callers, so no request arrives before its handler exists. The
// accessors are the whole surface: a future cluster transport (one object
// owning the listener, a connection demultiplexer, RPC and data streams)
// replaces the members behind them without touching any other service.
//
// Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "cli/service.hpp"
#include "core/config.hpp"
#include "net/datagram.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"
#include "net/stream.hpp"

namespace idunno::cli {

class TransportService final : public Service {
 public:
  // Binds TCP and UDP on config.node.bind; throws naming the address.
  TransportService(boost::asio::any_io_executor executor, const core::Config& config);
  ~TransportService() override;

  std::string_view name() const override { return "transport"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  net::RpcServer& rpc_server() { return *rpc_server_; }
  net::RpcClient& rpc_client() { return *rpc_client_; }
  net::DatagramTransport& datagrams() { return *udp_; }
  net::StreamNetwork& streams() { return *tcp_; }

 private:
  std::unique_ptr<net::TcpNetwork> tcp_;
  std::unique_ptr<net::RpcServer> rpc_server_;
  std::unique_ptr<net::RpcClient> rpc_client_;
  std::unique_ptr<net::DatagramTransport> udp_;
};

}  // namespace idunno::cli
