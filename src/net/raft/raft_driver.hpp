#pragma once
// RaftDriver: runs the Raft core of this node on the event loop, over the
// node's RPC server and client, with its state in DATA_DIR/raft.
//
// Why: the core is sans-I/O. The driver feeds it messages from RPC
// ("raft.messages"), ticks it with one timer, flushes it once per loop turn,
// does every disk write on a thread of its own, in order (appends,
// truncations, fsyncs, snapshot saves, compaction: see QueuedStorage; one
// fsync covers every flush since the last; a flush's outputs are held until
// its fsync is done), serializes the state machine for a snapshot on that
// thread too while applying waits (StateMachine's threading contract),
// sends messages
// batched per peer, resolves proposals when their entries apply, logs
// events, and turns membership events into voter-set changes. Other nodes
// reach the leader through it ("raft.propose" forwards a command;
// "raft.status" answers who the coordinator is).
//
// Ownership and order: construct after the RpcServer/RpcClient and before
// RpcServer::start() (it registers its methods); start(); at shutdown
// co_await stop() while RPC still runs (a leader hands over), then stop RPC,
// then destroy. Everything runs on `executor` (the event loop); not
// thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/raft/file_storage.hpp"
#include "core/raft/node.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "core/disk.hpp"
#include "net/raft/queued_storage.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"

namespace idunno::net {

// What `list_mem` and `vm-states` show.
enum class NodeRole { coordinator, standby, worker };
std::string_view to_string(NodeRole role);

struct LeaderInfo {
  std::string name;
  core::HostPort address;
  std::uint64_t term = 0;
};

// A command was not run because this node is not the leader (leader() says
// who is, when known). With outcome_unknown, leadership was lost after the
// command entered the log: it may still be applied.
class NotLeader : public std::runtime_error {
 public:
  NotLeader(std::optional<LeaderInfo> leader, bool outcome_unknown);
  const std::optional<LeaderInfo>& leader() const { return leader_; }
  bool outcome_unknown() const { return outcome_unknown_; }

 private:
  std::optional<LeaderInfo> leader_;
  bool outcome_unknown_;
};

// A live member as membership reports it.
struct LiveNode {
  std::string name;
  core::HostPort address;
};

enum class BootstrapMode {
  never,      // wait to be added by an existing cluster
  if_empty,   // start a cluster of one at start() if there is no Raft state
              // here (for the one node designated to found the cluster)
  automatic,  // a node with no Raft state starts a cluster of one when no
              // live member has Raft state and its name is the smallest of
              // the live members, once membership has been quiet a moment
};

struct RaftDriverOptions {
  std::string name;              // Raft identity: stable across restarts
  core::HostPort advertise;      // where others send this node RPCs
  std::filesystem::path data_dir;  // state goes to data_dir / "raft"
  raft::RaftConfig raft;
  BootstrapMode bootstrap = BootstrapMode::automatic;
  // automatic: membership must not have changed for this long, and the
  // driver must have run this long, before a node bootstraps.
  std::chrono::milliseconds bootstrap_settle{1000};
  std::chrono::milliseconds message_deadline{300};
  std::chrono::milliseconds propose_timeout{5000};
  // Where the Raft state is written (nullptr: the real disk). Tests pass a
  // core::FakeDisk; it must outlive the driver.
  core::Disk* disk = nullptr;
  // Called when the state on disk can no longer be written (the node must
  // stop: it cannot promise durability). Default: log and abort.
  std::function<void(const std::string& what)> on_fatal;

  static RaftDriverOptions from_config(const core::Config& config);
};

class RaftDriver {
 public:
  // Opens (or creates) the state in data_dir/raft and restores `machine`
  // from the latest snapshot; throws if that state is corrupt. Registers
  // "raft.messages", "raft.propose" and "raft.status" on `server`.
  RaftDriver(boost::asio::any_io_executor executor, RpcServer& server, RpcClient& client,
             raft::StateMachine& machine, RaftDriverOptions options);
  ~RaftDriver();
  RaftDriver(const RaftDriver&) = delete;
  RaftDriver& operator=(const RaftDriver&) = delete;

  void start();
  // A leader first hands leadership to the most caught-up voter (waiting at
  // most `handover`); then everything stops and pending proposals fail.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds handover = std::chrono::milliseconds(500));

  // Runs `command` through the log on this node, which must be the leader;
  // returns the state machine's result once it is applied here. Throws
  // NotLeader, or core::TimeoutError after options.propose_timeout.
  boost::asio::awaitable<std::string> propose(std::string command);

  // Runs `command` through the leader from any node (forwarding it by RPC),
  // retrying through elections until `timeout` (then core::TimeoutError).
  // At-least-once: after a lost leader the command may run twice, so
  // commands must be idempotent.
  boost::asio::awaitable<std::string> submit(std::string command, std::chrono::milliseconds timeout);

  // The leader as known here (from Raft, or asked of other nodes when this
  // node is not a member).
  std::optional<LeaderInfo> leader() const;
  NodeRole role() const;
  NodeRole role_of(const std::string& name) const;
  std::uint64_t term() const;

  // Membership's live view (alive and suspected members, this node
  // included or not). The leader adapts the voter set to it; every node
  // uses it to find peers' addresses.
  void on_members_changed(const std::vector<LiveNode>& live);

  // Called on the loop when this node becomes leader (true) or stops being
  // leader (false), with the term.
  void on_leadership_change(std::function<void(bool leader, std::uint64_t term)> observer);

  const raft::RaftNode& core() const { return *core_; }

 private:
  struct PendingProposal;
  struct Peer {
    int in_flight = 0;
    bool reachable = true;
  };

  // raft_driver.cpp
  void schedule_flush();
  void flush_now();
  boost::asio::awaitable<void> sync_loop();
  boost::asio::awaitable<void> take_snapshot(raft::RaftNode::SnapshotDue due);
  void release(raft::Ready ready);
  void rearm_timer();
  boost::asio::awaitable<void> timer_loop();
  void log_event(const raft::Event& event);
  void fail(const std::string& what);

  // raft_driver_rpc.cpp
  void register_methods(RpcServer& server);
  void send(std::vector<raft::Message> messages);
  boost::asio::awaitable<void> send_batch(std::string to, core::HostPort address, std::string bytes);
  boost::asio::awaitable<std::string> handle_messages(std::string request);
  boost::asio::awaitable<std::string> handle_propose(std::string request);
  std::string handle_status() const;

  // raft_driver_proposals.cpp
  void resolve(const std::vector<raft::Applied>& applied);
  void fail_pending(bool outcome_unknown);
  void fail_pending_upto(raft::Index index);
  // Waits up to `limit` for a leader to become known (or known anew).
  boost::asio::awaitable<void> wait_for_leader(std::chrono::milliseconds limit);

  // raft_driver_membership.cpp
  std::optional<core::HostPort> address_of(const std::string& name) const;
  std::optional<LeaderInfo> info_of(const std::optional<std::string>& name) const;
  boost::asio::awaitable<void> maintenance_loop();
  boost::asio::awaitable<void> discover(bool ask_all);
  bool should_bootstrap_now() const;

  boost::asio::any_io_executor executor_;
  RpcClient& client_;
  RaftDriverOptions options_;
  core::SystemClock clock_;
  raft::StateMachine& machine_;
  raft::FileStorage file_;
  QueuedStorage storage_;
  core::ThreadPool disk_{1, "raft-disk"};  // every write, in order; joined before file_ goes away
  std::unique_ptr<raft::RaftNode> core_;
  core::TaskGroup tasks_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_;
  bool started_ = false;
  bool stopping_ = false;
  bool flush_posted_ = false;
  bool syncing_ = false;
  std::vector<raft::Ready> held_;  // outputs waiting for the next fsync

  std::map<raft::Index, std::shared_ptr<PendingProposal>> pending_;
  std::map<std::string, Peer> peers_;
  std::map<std::string, core::HostPort> live_addresses_;
  std::map<std::string, core::HostPort> learned_addresses_;
  std::chrono::steady_clock::time_point started_at_{};
  std::chrono::steady_clock::time_point members_changed_at_{};
  // Learned from other nodes while this one is not a member.
  std::optional<LeaderInfo> discovered_leader_;
  raft::Configuration discovered_config_;
  bool cluster_seen_ = false;  // some live member has Raft state
  std::size_t discover_cursor_ = 0;
  std::function<void(bool, std::uint64_t)> leadership_observer_;
  std::shared_ptr<boost::asio::steady_timer> handover_wait_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> leader_waiters_;
};

}  // namespace idunno::net
