#include "net/cluster_transport.hpp"

#include <stdexcept>

namespace idunno::net {

namespace asio = boost::asio;

ClusterTransport::ClusterTransport(asio::any_io_executor executor, const core::Config& config)
    : owned_network_(TcpNetwork::listen(executor, config.node.bind, TcpOptions::from_config(config.rpc))),
      network_(owned_network_.get()),
      demux_(executor, *network_, std::chrono::milliseconds(config.rpc.preface_timeout_ms)),
      rpc_server_(std::make_unique<RpcServer>(executor, demux_.network(ConnectionKind::rpc), config.rpc)),
      rpc_client_(std::make_unique<RpcClient>(executor, demux_.network(ConnectionKind::rpc), config.rpc)),
      control_rpc_client_(std::make_unique<RpcClient>(executor, demux_.network(ConnectionKind::rpc), config.rpc)),
      stream_server_(
          std::make_unique<DataStreamServer>(executor, demux_.network(ConnectionKind::data_stream), config.stream)),
      stream_client_(
          std::make_unique<DataStreamClient>(executor, demux_.network(ConnectionKind::data_stream), config.stream)) {}

ClusterTransport::ClusterTransport(asio::any_io_executor executor, StreamNetwork& network,
                                   const core::RpcSection& rpc, const core::StreamSection& stream)
    : network_(&network),
      demux_(executor, network, std::chrono::milliseconds(rpc.preface_timeout_ms)),
      rpc_server_(std::make_unique<RpcServer>(executor, demux_.network(ConnectionKind::rpc), rpc)),
      rpc_client_(std::make_unique<RpcClient>(executor, demux_.network(ConnectionKind::rpc), rpc)),
      control_rpc_client_(std::make_unique<RpcClient>(executor, demux_.network(ConnectionKind::rpc), rpc)),
      stream_server_(std::make_unique<DataStreamServer>(executor, demux_.network(ConnectionKind::data_stream), stream)),
      stream_client_(
          std::make_unique<DataStreamClient>(executor, demux_.network(ConnectionKind::data_stream), stream)) {}

ClusterTransport::~ClusterTransport() = default;

void ClusterTransport::start() {
  if (started_) throw std::logic_error("ClusterTransport::start() called twice");
  started_ = true;
  rpc_server_->start();
  stream_server_->start();
  demux_.start();
}

asio::awaitable<void> ClusterTransport::stop() {
  if (stopped_) co_return;
  stopped_ = true;
  co_await demux_.stop();
  co_await stream_server_->stop();
  co_await stream_client_->stop();
  co_await rpc_server_->stop();
  co_await rpc_client_->stop();
  co_await control_rpc_client_->stop();
}

}  // namespace idunno::net
