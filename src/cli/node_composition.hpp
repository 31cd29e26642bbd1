#pragma once
// The composition root of one node: builds its pools and services in
// dependency order with explicit dependencies, starts them in that order
// and stops them in reverse within a budget.
//
//   transport (TCP listener, RPC server/client, UDP)
//   executor (the ML engine, on the ML pool; started first of the rest, as
//             loading LibTorch takes most of a second)
//     membership (SWIM) <- transport
//       coordinator (Raft driver + replicated state) <- transport, membership
//         sdfs (block store, data node, client library, file API)
//              <- transport, membership, coordinator, the I/O pool
//         log search (the `grep` command) <- transport, membership, the I/O pool
//           jobs <- transport, membership, coordinator, sdfs, executor
//           online inference (/v2 on the console) <- the same
//   console (commands, metrics, events; last up, first down)
//
// Why: one place says what the node is made of and in which order it comes
// and goes. A new service (storage on the I/O pool, jobs on the executor
// and the coordinator) is constructed here with what it needs and appended
// to the order; no other service changes. The dispatcher, the metrics
// registry and the event stream are created before every service and
// outlive them; their handlers are called only by the console and the
// terminal, both stopped before the services go.
//
// Owned by Node; construct on the main thread before the loop runs (it
// binds the cluster sockets: a port in use throws), then touch it only from
// the loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/node_events.hpp"
#include "cli/service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/thread_pool.hpp"
#include "fs/namespace.hpp"
#include "ml/jobs/job_table.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::cli {

class TransportService;
class MembershipService;
class CoordinatorService;
class ExecutorService;
class SdfsService;
class JobService;
class EventFeed;
class LogSearchService;
class OnlineService;
class ConsoleService;
class ConsoleDirectory;

struct CompositionOptions {
  // Where the executor looks for the ML engine module; empty: beside the
  // binary.
  std::vector<std::filesystem::path> ml_module_paths;
};

class NodeComposition {
 public:
  NodeComposition(boost::asio::any_io_executor executor, const core::Config& config, CompositionOptions options = {});
  ~NodeComposition();
  NodeComposition(const NodeComposition&) = delete;
  NodeComposition& operator=(const NodeComposition&) = delete;

  // Starts every service in order. Throws with the failing service's
  // message; the caller then destroys the composition.
  void start();

  // Graceful stop within `budget`: drain every service (newest first), stop
  // every service (newest first), then cancel and wait for the pools.
  // Returns true when everything ended within the budget.
  boost::asio::awaitable<bool> stop(std::chrono::milliseconds budget);

  CommandDispatcher& dispatcher() { return dispatcher_; }
  // The names of the SDFS files in this node's copy of the namespace
  // (possibly behind the coordinator's): the terminal's completion.
  std::vector<std::string> sdfs_names() const;
  core::MetricsRegistry& metrics() { return metrics_; }
  core::ThreadPool& ml_pool() { return ml_pool_; }
  core::ThreadPool& io_pool() { return io_pool_; }
  ExecutorService& executor_service() { return *executor_service_; }
  ConsoleService& console() { return *console_; }

 private:
  const core::Config& config_;
  const std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  // Separate pools: disk work never waits behind a forward pass, nor
  // training behind disk work.
  core::ThreadPool ml_pool_;
  core::ThreadPool io_pool_;
  core::MetricsRegistry metrics_;
  CommandDispatcher dispatcher_;
  NodeEvents events_;
  // Streamed HTTP routes of the console (the file API), filled by the
  // services that serve them before the console starts.
  std::shared_ptr<net::console::StreamRoutes> http_routes_ = std::make_shared<net::console::StreamRoutes>();

  // The SDFS namespace, replicated by the coordinator's log as "sdfs" and
  // read by the SDFS service; outlives both.
  fs::Namespace namespace_;
  // The job table, replicated likewise as "jobs", read by the job service.
  ml::jobs::JobTable jobs_table_;

  std::unique_ptr<TransportService> transport_;
  std::unique_ptr<MembershipService> membership_;
  std::unique_ptr<CoordinatorService> coordinator_;
  std::unique_ptr<SdfsService> sdfs_;
  std::unique_ptr<LogSearchService> log_search_;
  std::unique_ptr<ExecutorService> executor_service_;
  std::unique_ptr<JobService> jobs_;
  std::unique_ptr<EventFeed> event_feed_;
  std::unique_ptr<OnlineService> online_;
  std::unique_ptr<ConsoleService> console_;
  std::unique_ptr<ConsoleDirectory> consoles_;
  // Start order; stopped in reverse.
  std::vector<Service*> order_;
  std::size_t started_ = 0;
};

}  // namespace idunno::cli
