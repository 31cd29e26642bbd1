#include "cli/transport_service.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "net/lossy_datagram.hpp"

namespace idunno::cli {

TransportService::TransportService(boost::asio::any_io_executor executor, const core::Config& config) {
  tcp_ = net::TcpNetwork::listen(executor, config.node.bind);
  rpc_server_ = std::make_unique<net::RpcServer>(executor, *tcp_, config.rpc);
  rpc_client_ = std::make_unique<net::RpcClient>(executor, *tcp_, config.rpc);
  udp_ = net::UdpTransport::bind(executor, config.node.bind);
  if (config.membership.inject_loss_percent > 0) {
    spdlog::warn("event=inject_loss percent={}", config.membership.inject_loss_percent);
    udp_ = std::make_unique<net::LossyDatagramTransport>(
        std::move(udp_), config.membership.inject_loss_percent / 100.0, static_cast<std::uint64_t>(::getpid()));
  }
}

TransportService::~TransportService() = default;

void TransportService::start() { rpc_server_->start(); }

boost::asio::awaitable<void> TransportService::stop(StopDeadline /*deadline*/) {
  // Both bound their own waits.
  co_await rpc_server_->stop();
  co_await rpc_client_->stop();
  udp_->close();
  tcp_->close();
}

}  // namespace idunno::cli
