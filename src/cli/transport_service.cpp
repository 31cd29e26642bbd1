#include "cli/transport_service.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "net/lossy_datagram.hpp"

namespace idunno::cli {

TransportService::TransportService(boost::asio::any_io_executor executor, const core::Config& config) {
  cluster_ = std::make_unique<net::ClusterTransport>(executor, config);
  udp_ = net::UdpTransport::bind(executor, config.node.bind);
  if (config.membership.inject_loss_percent > 0) {
    spdlog::warn("event=inject_loss percent={}", config.membership.inject_loss_percent);
    udp_ = std::make_unique<net::LossyDatagramTransport>(
        std::move(udp_), config.membership.inject_loss_percent / 100.0, static_cast<std::uint64_t>(::getpid()));
  }
}

TransportService::~TransportService() = default;

void TransportService::start() { cluster_->start(); }

boost::asio::awaitable<void> TransportService::stop(StopDeadline /*deadline*/) {
  // It bounds its own waits.
  co_await cluster_->stop();
  udp_->close();
}

}  // namespace idunno::cli
