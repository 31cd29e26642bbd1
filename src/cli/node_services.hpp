#pragma once
// The services of one node, built in dependency order and stopped in
// reverse (see Node). Command handlers are bound here too, each service's
// in its own node_commands_*.cpp.
//
// Lives on the event loop: construct on the main thread before the loop
// runs, then touch only from the loop.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "cli/command_dispatcher.hpp"
#include "core/config.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "core/metrics.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "net/console/console_server.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/datagram.hpp"
#include "net/swim/swim_driver.hpp"
#ifdef IDUNNO_WITH_ML
#include "ml/executor.hpp"
#endif
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"
#include "net/stream.hpp"

namespace idunno::cli {

struct NodeServices {
  NodeServices(boost::asio::io_context& io, const core::Config& config);
  ~NodeServices();

  // Binds the sockets and starts every service. Throws with a clear message
  // (e.g. a port in use) and leaves nothing running.
  void start();

  // Graceful stop within `budget`: leave the group, stop the console and RPC,
  // drain the task group.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds budget);

  // Membership events feed the voter set, the console's event stream and
  // the metrics (node_membership.cpp).
  void wire_membership();

  const core::Config& config;
  boost::asio::any_io_executor executor;
  const std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  core::ThreadPool pool;
  core::TaskGroup tasks;
  core::MetricsRegistry metrics;
  CommandDispatcher dispatcher;

  std::unique_ptr<net::TcpNetwork> tcp;
  std::unique_ptr<net::RpcServer> rpc_server;
  std::unique_ptr<net::RpcClient> rpc_client;
  std::unique_ptr<net::console::ConsoleServer> console;

  std::unique_ptr<net::DatagramTransport> udp;
  std::unique_ptr<swim::SwimDriver> swim;

  // The replicated coordinator state; for now the key-value test machine.
  raft::KvStateMachine coordinator_state;
  std::unique_ptr<net::RaftDriver> raft;

#ifdef IDUNNO_WITH_ML
  // Every forward pass and training run of this node, on `pool`.
  std::unique_ptr<ml::Executor> ml;
#endif
};

// Each binds its service's commands to `services.dispatcher`.
void bind_coordinator_commands(NodeServices& services);
void bind_membership_commands(NodeServices& services);
void bind_ml_commands(NodeServices& services);

}  // namespace idunno::cli
