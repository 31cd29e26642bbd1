#pragma once
// Test support: SDFS data nodes on a FakeNetwork, each with its own
// FakeDisk, block store, stream and RPC endpoints and DataNode, sharing one
// small I/O pool. Header-only, test code only.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/fake_disk.hpp"
#include "core/thread_pool.hpp"
#include "fs/block_store.hpp"
#include "fs/data_node.hpp"
#include "fs/sdfs_stats.hpp"
#include "net/data_stream_test_support.hpp"
#include "net/fake_network.hpp"
#include "net/rpc.hpp"
#include "net/test_util.hpp"

namespace idunno::fs::test {

inline constexpr std::uint32_t kTestChunk = 64 * 1024;

struct TestDataNode {
  std::string name;
  core::HostPort stream_address;
  core::HostPort rpc_address;
  core::FakeDisk disk;
  std::unique_ptr<BlockStore> store;
  std::unique_ptr<net::StreamNetwork> stream_endpoint;
  std::unique_ptr<net::StreamNetwork> rpc_endpoint;
  std::unique_ptr<net::DataStreamServer> stream_server;
  std::unique_ptr<net::DataStreamClient> stream_client;
  std::unique_ptr<net::RpcServer> rpc_server;
  std::unique_ptr<net::RpcClient> rpc_client;
  SdfsStats stats;
  std::unique_ptr<DataNode> data_node;

  ChainNode chain_node() const { return {name, stream_address}; }
};

inline core::RpcSection test_rpc_limits() {
  core::RpcSection limits;
  limits.connect_timeout_ms = 500;
  return limits;
}

class DataNodeCluster : public net::testing::CoroutineTest {
 protected:
  void make_cluster(std::size_t count) {
    network_ = std::make_unique<net::FakeNetwork>(executor(), 17);
    for (std::size_t i = 0; i < count; ++i) {
      auto node = std::make_unique<TestDataNode>();
      node->name = "node" + std::to_string(i + 1);
      const std::string host = "10.0.3." + std::to_string(i + 1);
      node->stream_address = {host, 7001};
      node->rpc_address = {host, 7002};
      node->store = std::make_unique<BlockStore>(node->disk, "/sdfs", kTestChunk);
      node->stream_endpoint = network_->stream(node->stream_address);
      node->rpc_endpoint = network_->stream(node->rpc_address);
      const auto limits = net::testing::small_stream_limits();
      node->stream_server = std::make_unique<net::DataStreamServer>(executor(), *node->stream_endpoint, limits);
      node->stream_client = std::make_unique<net::DataStreamClient>(executor(), *node->stream_endpoint, limits);
      node->rpc_server = std::make_unique<net::RpcServer>(executor(), *node->rpc_endpoint, test_rpc_limits());
      node->rpc_client = std::make_unique<net::RpcClient>(executor(), *node->rpc_endpoint, test_rpc_limits());
      DataNodeOptions options;
      options.self_name = node->name;
      options.piece_bytes = 32 * 1024;
      node->data_node = std::make_unique<DataNode>(executor(), *node->store, pool_, *node->stream_server,
                                                   *node->stream_client, *node->rpc_server, node->stats, options);
      node->stream_server->start();
      node->rpc_server->start();
      nodes_.push_back(std::move(node));
    }
  }

  void TearDown() override {
    for (auto& node : nodes_) {
      run(node->stream_client->stop());
      run(node->rpc_client->stop());
      run(node->stream_server->stop());
      run(node->rpc_server->stop());
    }
    nodes_.clear();
  }

  std::vector<ChainNode> chain(const std::vector<std::size_t>& indexes) const {
    std::vector<ChainNode> out;
    for (auto i : indexes) out.push_back(nodes_[i]->chain_node());
    return out;
  }

  TestDataNode& node(std::size_t index) { return *nodes_[index]; }

  core::ThreadPool pool_{2, "test-io"};
  std::unique_ptr<net::FakeNetwork> network_;
  std::vector<std::unique_ptr<TestDataNode>> nodes_;
};

}  // namespace idunno::fs::test
