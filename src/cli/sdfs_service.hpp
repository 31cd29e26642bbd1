#pragma once
// SDFS as a node service: the block store (DATA_DIR/sdfs) on the I/O pool,
// the data node serving the other nodes (fs/data_node.hpp), the client
// library (fs/sdfs.hpp) over the coordinator's log and membership, the
// commands (put, get, delete, ls, store, get-versions), the HTTP file API
// (/v1/files, see sdfs_http.cpp; chunked uploads are spooled in
// DATA_DIR/spool) and the idunno_sdfs_* metrics.
//
// Why: the namespace is replicated by the coordinator (the composition root
// owns it and hosts it on the coordinator's log as "sdfs"); everything else
// a node needs to store and serve files lives here, built after the
// coordinator with what it uses. Local paths in commands are the node's own
// (the terminal mode); the idunno client streams its files through the HTTP
// API instead.
//
// On the coordinator it also runs re-replication (fs/replica_manager.hpp:
// copies after deaths, dead listings forgotten, abandoned puts aborted,
// removed blocks dropped), and on every node, once at start, the
// reconciliation of its blocks against the namespace (fs/reconcile.hpp),
// then every sdfs.sweep_interval_ms the removal of blocks its copy of the
// namespace no longer has (drops it missed);
// sdfs_replicas.cpp wires both to Raft, membership and the data node's
// calls.
//
// Stopping: stop() ends re-replication and a running reconciliation; the
// data node's handlers end with the transport's servers. Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/coordinator_service.hpp"
#include "cli/membership_service.hpp"
#include "cli/node_events.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "fs/block_store.hpp"
#include "fs/data_node.hpp"
#include "fs/namespace.hpp"
#include "fs/replica_manager.hpp"
#include "fs/sdfs.hpp"
#include "fs/sdfs_stats.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::cli {

// The console URL ("http://host:port") of a live node, by name; nullopt
// when it is not alive or its console is not known yet.
using ConsoleLookup = std::function<std::optional<std::string>(const std::string& node)>;

class SdfsService final : public Service {
 public:
  // Opens DATA_DIR/sdfs (throws when it cannot be created).
  SdfsService(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
              MembershipService& membership, CoordinatorService& coordinator, const fs::Namespace& ns,
              core::ThreadPool& io_pool, CommandDispatcher& dispatcher, core::MetricsRegistry& metrics,
              net::console::StreamRoutes& routes);
  ~SdfsService() override;

  std::string_view name() const override { return "sdfs"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  fs::Sdfs& sdfs() { return *sdfs_; }
  // Stores this node's file `local` as the next version of `name`. Throws
  // fs::SdfsError.
  // `progress`, when given, counts the bytes read.
  boost::asio::awaitable<fs::PutResult> put_local(std::string local, std::string name,
                                                  std::shared_ptr<CommandProgress> progress = nullptr);
  // Writes `found` into this node's file `local`, atomically: on a failed
  // read no file is left. Returns the bytes written; throws fs::SdfsError.
  boost::asio::awaitable<std::uint64_t> get_local(fs::NamedVersion found, std::string local,
                                                  std::shared_ptr<CommandProgress> progress = nullptr);
  core::ThreadPool& io_pool() { return io_pool_; }
  // Where the file API finds other nodes' consoles (set once they are
  // known; until then no GET is redirected).
  void set_console_lookup(ConsoleLookup lookup) { console_lookup_ = std::move(lookup); }

 private:
  boost::asio::awaitable<boost::json::value> put(std::vector<std::string> args,
                                                 std::shared_ptr<CommandProgress> progress);
  boost::asio::awaitable<boost::json::value> get(std::vector<std::string> args,
                                                 std::shared_ptr<CommandProgress> progress);
  boost::asio::awaitable<boost::json::value> remove(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> ls(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> store(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> get_versions(std::vector<std::string> args,
                                                          std::shared_ptr<CommandProgress> progress);

  // sdfs_replicas.cpp
  void wire_replicas(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                     CoordinatorService& coordinator, const fs::Namespace& ns, core::MetricsRegistry& metrics);
  std::set<std::string> live_names() const;
  boost::asio::awaitable<void> reconcile();

  MembershipService& membership_;
  CoordinatorService& coordinator_;
  const fs::Namespace& ns_;  // this node's copy
  std::chrono::milliseconds sweep_interval_;
  std::string self_;
  core::ThreadPool& io_pool_;
  fs::SdfsStats stats_;
  std::unique_ptr<fs::BlockStore> store_;
  std::unique_ptr<fs::DataNode> data_node_;
  std::unique_ptr<fs::Sdfs> sdfs_;
  std::unique_ptr<fs::ReplicaManager> replicas_;
  std::unique_ptr<core::TaskGroup> background_;  // the reconciliation
  ConsoleLookup console_lookup_;
};

// Where a PUT without Content-Length (a chunked body) is spooled: a put
// must know its size before replicas are chosen, so such a body goes to a
// file in `dir` first (on `pool`), then into SDFS, and the file is removed.
// `dir` holds nothing else; the service empties it at start.
struct UploadSpool {
  core::ThreadPool* pool = nullptr;
  std::filesystem::path dir;
};

// The HTTP file API on `sdfs` (sdfs_http.cpp): PUT/GET/HEAD/DELETE on
// /v1/files/NAME and GET /v1/files[?prefix=P]. A GET that asks for it with
// `X-Idunno-Redirect: replica` on a node that holds no replica of the
// version is answered with a 307 to a replica's console (`consoles`), so
// the bytes take no hop through this node.
void add_sdfs_routes(net::console::StreamRoutes& routes, fs::Sdfs& sdfs, UploadSpool spool,
                     ConsoleLookup consoles = {});

// The JSON of a version as ls and the listing show it.
boost::json::object version_json(const fs::NamedVersion& version);
// "==> NAME version V (SIZE bytes) <==\n": get-versions' delimiter line.
std::string version_delimiter(const fs::NamedVersion& version);

}  // namespace idunno::cli
