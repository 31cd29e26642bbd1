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
// events, and turns membership events into voter-set changes. It hosts a
// raft::Router: every command names its state machine, and submit() gives
// each one this node's session id and a sequence number, so that a retry
// after a leader change is answered from the replicated cache instead of
// running twice. Reads go through ReadIndex (no log write). Other nodes
// reach the leader through it ("raft.propose" forwards a command,
// "raft.read" a read; "raft.status" answers who the coordinator is).
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
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/raft/file_storage.hpp"
#include "core/raft/lanes.hpp"
#include "core/raft/node.hpp"
#include "core/raft/router.hpp"
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

// A command larger than the leader takes into its log (RaftConfig::
// max_entry_bytes, a quarter of the RPC frame limit): refused at once,
// nothing was run.
class CommandTooLarge : public std::runtime_error {
 public:
  CommandTooLarge(std::size_t size, std::size_t limit);
};

// This node's client session had expired in the replicated state (it sent
// nothing for RouterOptions::session_timeout), so the command was not run
// and its deduplication is lost; the next command opens a new session.
class SessionExpired : public std::runtime_error {
 public:
  SessionExpired();
};

// What a post-apply observer sees: a command a state machine ran (once: a
// retried duplicate is not reported again), with its result.
struct AppliedCommand {
  std::string_view machine;
  std::uint64_t index = 0;
  std::string_view command;
  std::string_view result;
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
  // Where control-lane messages go (core/raft/lanes.hpp): a client with
  // connections of its own. Null: the driver's client carries both lanes.
  RpcClient* control_client = nullptr;
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
  // Opens (or creates) the state in data_dir/raft and restores `router`
  // (its machines added already) from the latest snapshot; throws if that
  // state is corrupt. Registers "raft.messages", "raft.propose",
  // "raft.read" and "raft.status" on `server`. `router` outlives the driver.
  RaftDriver(boost::asio::any_io_executor executor, RpcServer& server, RpcClient& client, raft::Router& router,
             RaftDriverOptions options);
  ~RaftDriver();
  RaftDriver(const RaftDriver&) = delete;
  RaftDriver& operator=(const RaftDriver&) = delete;

  void start();
  // A leader first hands leadership to the most caught-up voter, waiting
  // until that successor leads (this node has heard from it) or at most
  // `handover`; then everything stops and pending proposals fail.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds handover = std::chrono::milliseconds(500));

  // Runs `command` on `machine` through the log on this node, which must be
  // the leader, once, without a session (nothing retries it); returns the
  // machine's result once it is applied here. Throws NotLeader,
  // CommandTooLarge, std::invalid_argument (no such machine), or
  // core::TimeoutError after options.propose_timeout.
  boost::asio::awaitable<std::string> propose(std::string machine, std::string command);

  // Runs `command` on `machine` through the leader from any node (forwarding
  // it by RPC), retrying through elections until `timeout` (then
  // core::TimeoutError). Exactly-once: every attempt carries this node's
  // session and the same sequence number, and the replicated session table
  // answers a retry of a command that already ran with its first result.
  // Opens the session through the log first when there is none. Throws
  // CommandTooLarge and SessionExpired as above.
  boost::asio::awaitable<std::string> submit(std::string machine, std::string command,
                                             std::chrono::milliseconds timeout);

  // A linearizable read-only query of `machine` (StateMachine::query)
  // without a log write: the leader confirms its leadership with a
  // heartbeat round to a majority (ReadIndex) and answers once it has
  // applied everything committed before the read began; other nodes forward
  // to the leader. Retries through elections until `timeout`.
  boost::asio::awaitable<std::string> read(std::string machine, std::string query,
                                           std::chrono::milliseconds timeout);

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

  // A term learned outside Raft's messages (a coordinator request refused
  // by a fence, a reply stamped with a newer term): a newer one deposes
  // this node if it leads (see raft::RaftNode::observe_term).
  void observe_term(std::uint64_t term);

  // A coordinator announced itself (see coordinator_announce.hpp): a node
  // that is not a Raft member takes it as the leader unless it knows of a
  // newer term; members learn the leader from Raft itself.
  void learn_leader(const LeaderInfo& leader);

  // Observers, called on the loop, as many as are added (none can be
  // removed: add them before start()). Leadership: this node became leader
  // (true) or stopped being leader (false), with the term. Leader ready: as
  // leader of `term`, this node has committed an entry of its term and
  // applied everything before it, so its state is the whole committed
  // history (act on it from here, not from election). Applied: every
  // command a machine ran, in log order, after its entry is durable here.
  void on_leadership_change(std::function<void(bool leader, std::uint64_t term)> observer);
  void on_leader_ready(std::function<void(std::uint64_t term)> observer);
  void on_applied(std::function<void(const AppliedCommand&)> observer);

  // Called on the loop when a Raft message arrives from a peer, or a call
  // to a peer succeeds after failing: evidence that it is reachable now,
  // sooner than membership may notice after a healed partition.
  void on_peer_heard(std::function<void(const std::string& name, const core::HostPort& address)> observer);

  const raft::RaftNode& core() const { return *core_; }

  // Leadership as this node saw it, since it started (metrics).
  struct Counters {
    std::uint64_t elections_started = 0;  // pre-votes included
    std::uint64_t elections_won = 0;
    std::uint64_t leader_changes = 0;  // a new leader learned, of any term
  };
  const Counters& counters() const { return counters_; }

 private:
  struct PendingProposal;
  struct PendingRead;
  // One lane to one peer: calls in flight (by id, with when each was
  // sent), and when it last carried a bare heartbeat for the other lane.
  struct LaneCalls {
    std::map<std::uint64_t, std::chrono::steady_clock::time_point> in_flight;
    std::chrono::steady_clock::time_point last_bare{};
    bool stalled(std::chrono::steady_clock::time_point now, std::chrono::milliseconds patience) const {
      return !in_flight.empty() && now - in_flight.begin()->second >= patience;
    }
  };
  struct Peer {
    LaneCalls control;
    LaneCalls data;
    bool reachable = true;
    LaneCalls& lane(raft::Lane l) { return l == raft::Lane::data ? data : control; }
  };

  // raft_driver.cpp
  void schedule_flush();
  void flush_now();
  // Takes out of `messages` those only a leader sends (AppendEntries,
  // snapshot chunks, TimeoutNow), in order.
  static std::vector<raft::Message> take_leader_messages(std::vector<raft::Message>& messages);
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
  boost::asio::awaitable<void> send_batch(std::string to, core::HostPort address, std::string bytes, raft::Lane lane,
                                          std::uint64_t id);
  boost::asio::awaitable<std::string> handle_messages(std::string request);
  boost::asio::awaitable<std::string> handle_propose(std::string request);
  std::string handle_status() const;
  void notify_applied(const std::vector<raft::Applied>& applied);

  // raft_driver_proposals.cpp
  // Proposes a routed entry here (stamped with this leader's time) and
  // waits for its route result; `submit_entry` retries it through the
  // leader from any node until `deadline`.
  boost::asio::awaitable<std::string> propose_entry(std::string entry);
  boost::asio::awaitable<std::string> submit_entry(std::string entry, std::chrono::steady_clock::time_point deadline);
  // What forwarding to the leader gave: its result, or (the node asked does
  // not lead) whom that node names as leader, if anyone.
  struct Forwarded {
    std::optional<std::string> result;
    std::optional<LeaderInfo> hint;
  };
  using Here = std::function<boost::asio::awaitable<std::string>()>;
  using Forward =
      std::function<boost::asio::awaitable<Forwarded>(const LeaderInfo& leader, std::chrono::milliseconds left)>;
  // Runs an operation on the leader until `deadline`: `here` when this node
  // leads, otherwise `forward` to the leader it knows (or was just told
  // of); between attempts it waits briefly for news of a leader. Throws
  // core::TimeoutError at the deadline; an RpcError of an attempt is logged
  // as `failed_event` and retried.
  boost::asio::awaitable<std::string> on_leader(std::chrono::steady_clock::time_point deadline, Here here,
                                                Forward forward, const char* failed_event);
  boost::asio::awaitable<Forwarded> forward_entry(LeaderInfo target, std::string entry, std::chrono::milliseconds left);
  static std::optional<LeaderInfo> leader_hint(const std::string& name, const std::string& address);
  void check_size(std::size_t size) const;
  void resolve(const std::vector<raft::Applied>& applied);
  void fail_pending(bool outcome_unknown);
  void fail_pending_upto(raft::Index index);
  // Waits up to `limit` for a leader to become known (or known anew).
  boost::asio::awaitable<void> wait_for_leader(std::chrono::milliseconds limit);

  // raft_driver_sessions.cpp
  boost::asio::awaitable<void> ensure_session(std::chrono::steady_clock::time_point deadline);
  std::uint64_t lowest_unanswered() const;

  // raft_driver_reads.cpp
  boost::asio::awaitable<std::string> read_here(std::string machine, std::string query);
  boost::asio::awaitable<Forwarded> forward_read(LeaderInfo target, std::string machine, std::string query,
                                                 std::chrono::milliseconds left);
  boost::asio::awaitable<std::string> handle_read(std::string request);
  void resolve_reads(const raft::Ready& ready);
  void fail_reads();

  // raft_driver_membership.cpp
  std::optional<core::HostPort> address_of(const std::string& name) const;
  std::optional<LeaderInfo> info_of(const std::optional<std::string>& name) const;
  boost::asio::awaitable<void> maintenance_loop();
  boost::asio::awaitable<void> discover(bool ask_all);
  bool should_bootstrap_now() const;

  boost::asio::any_io_executor executor_;
  RpcClient& client_;
  raft::Router& router_;
  RaftDriverOptions options_;
  core::SystemClock clock_;
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
  std::uint64_t next_call_id_ = 1;
  std::map<std::string, core::HostPort> live_addresses_;
  std::map<std::string, core::HostPort> learned_addresses_;
  std::chrono::steady_clock::time_point started_at_{};
  std::chrono::steady_clock::time_point members_changed_at_{};
  // Learned from other nodes while this one is not a member.
  std::optional<LeaderInfo> discovered_leader_;
  raft::Configuration discovered_config_;
  bool cluster_seen_ = false;  // some live member has Raft state
  std::size_t discover_cursor_ = 0;
  std::vector<std::function<void(bool, std::uint64_t)>> leadership_observers_;
  std::vector<std::function<void(std::uint64_t)>> leader_ready_observers_;
  std::vector<std::function<void(const AppliedCommand&)>> applied_observers_;
  // This node's client session (0: none yet) and its sequence numbers.
  Counters counters_;
  std::uint64_t client_id_ = 0;
  std::uint64_t next_seq_ = 0;
  std::set<std::uint64_t> unanswered_;  // seqs submitted and not yet answered
  std::shared_ptr<boost::asio::steady_timer> registering_;  // cancelled when registration ends
  // ReadIndex reads: waiting for their round, then for the state to apply.
  raft::ReadId next_read_ = 0;
  std::map<raft::ReadId, std::shared_ptr<PendingRead>> reads_;
  std::multimap<raft::Index, std::shared_ptr<PendingRead>> reads_waiting_apply_;
  raft::Index released_applied_ = 0;  // state up to here was released
  std::function<void(bool, std::uint64_t)> leadership_observer_;
  std::function<void(const std::string&, const core::HostPort&)> peer_heard_observer_;
  std::shared_ptr<boost::asio::steady_timer> handover_wait_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> leader_waiters_;
};

}  // namespace idunno::net
