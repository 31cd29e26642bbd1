#pragma once
// One Raft node as a sans-I/O state machine.
//
// Why: the protocol's correctness must not depend on sockets or real time, so
// that thousands of seeded simulations can test it. Inputs are messages
// (step), proposals, the live member list and the passage of time (tick);
// outputs are collected by flush(), which first syncs storage so that no
// message leaves before what it depends on is durable (fsync before
// acknowledge; one sync per batch of inputs). Implements Raft with pre-vote,
// check-quorum, leader-lease rejection of disruptive votes, snapshots with
// chunked install, single-server membership changes with learners, and
// leadership transfer. The work is split by concern over node.cpp,
// election.cpp, replication.cpp, snapshot.cpp, membership.cpp and leader.cpp.
//
// Owned by its driver (or the simulation); not thread-safe: every call comes
// from the one thread that runs it.

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/raft/events.hpp"
#include "core/raft/log.hpp"
#include "core/raft/membership_policy.hpp"
#include "core/raft/messages.hpp"
#include "core/raft/progress.hpp"
#include "core/raft/raft_config.hpp"
#include "core/raft/state_machine.hpp"
#include "core/raft/storage.hpp"

namespace idunno::raft {

enum class Role { follower, pre_candidate, candidate, leader };
std::string_view to_string(Role role);

// A command applied to the state machine: the entry's bytes and the result.
struct Applied {
  Index index = 0;
  Term term = 0;
  std::string result;
  std::string command;
};

// The outcome of a read_index() request: with ok, a read of state applied up
// to `index` is linearizable (this node was still leader when a majority
// answered a heartbeat sent after the request); without ok the node lost
// leadership first and the read must go elsewhere.
using ReadId = std::uint64_t;
struct ReadState {
  ReadId id = 0;
  Index index = 0;
  bool ok = false;
};

// What flush() hands to the driver.
struct Ready {
  std::vector<Message> messages;
  std::vector<Applied> applied;
  std::vector<Event> events;
  std::vector<ReadState> reads;
  // The node's applied index when these outputs were taken: state up to here
  // is safe to read once the outputs are released.
  Index applied_index = 0;
  bool empty() const { return messages.empty() && applied.empty() && events.empty() && reads.empty(); }
};

// The answer to propose(): accepted at (index, term), or refused because this
// node is not the leader (leader_hint names the leader when known) or the
// command is larger than RaftConfig::max_entry_bytes (too_large).
struct Proposal {
  bool accepted = false;
  Index index = 0;
  Term term = 0;
  std::optional<NodeName> leader_hint;
  bool too_large = false;
};

class RaftNode {
 public:
  // Loads the durable state and restores the state machine from the latest
  // snapshot. `seed` drives the randomized election timeouts.
  RaftNode(NodeName self, RaftConfig config, Storage& storage, StateMachine& state_machine,
           const core::Clock& clock, std::uint64_t seed);
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // Starts a new cluster with `initial` as its first configuration when this
  // node has no history yet; false (nothing done) otherwise. Every node given
  // the same `initial` may call it; other nodes join as learners later.
  bool bootstrap(const Configuration& initial);

  void step(const Message& message);
  // A term learned outside Raft's own messages (a fenced request refused,
  // a reply stamped with its responder's term): a newer one makes this
  // node a follower in it, as a Raft message of that term would.
  void observe_term(Term term);
  Proposal propose(std::string command);
  // ReadIndex (Raft thesis 6.4): on a leader, records the commit index (at
  // least this term's first entry, so that nothing an earlier leader
  // committed is missed), and confirms leadership with a heartbeat round to
  // a majority; the ReadState comes out of a later flush(). Reads asked in
  // one batch of inputs share one round. False at once when not leader.
  bool read_index(ReadId id);
  // Hands leadership to `target` (default: the most caught-up voter); false
  // when not leader or no voter can take it.
  bool transfer_leadership(const std::optional<NodeName>& target = std::nullopt);
  // The nodes membership reports alive; the leader adapts the voter set.
  void set_live_members(LiveMembers live);
  // Runs whatever is due at clock.now().
  void tick();
  core::TimePoint next_deadline() const;

  // Snapshots taken by the driver, off the loop. With defer_snapshots(true),
  // a due snapshot is handed out by take_snapshot_due() instead of being
  // taken inline, and applying stops (committed entries wait) until
  // snapshot_taken(): the driver serializes the state machine, saves the
  // snapshot and compacts the log through compact_upto on its disk thread,
  // in order with every other storage write, while this core goes on
  // replicating. A snapshot install from a leader waits meanwhile (the
  // chunk is dropped; the leader resends). Off by default (the simulation
  // snapshots inline).
  struct SnapshotDue {
    SnapshotMeta meta;
    Index compact_upto = 0;  // 0: nothing to compact
    Term compact_term = 0;
  };
  void defer_snapshots(bool on) { defer_snapshots_ = on; }
  std::optional<SnapshotDue> take_snapshot_due() { return std::exchange(snapshot_due_, std::nullopt); }
  // `snapshot` covers the due snapshot's meta; it is now durable and the
  // log compacted on disk.
  void snapshot_taken(std::shared_ptr<const Snapshot> snapshot);
  bool snapshot_in_progress() const { return snapshot_running_.has_value(); }

  // Syncs storage if anything was written, then returns and clears the
  // outputs accumulated since the last flush.
  Ready flush();

  // With a deferred-sync storage: what a sync queued now will cover, and
  // the report that such a sync completed. A report from before the log was
  // truncated or replaced (another epoch) is ignored: the next sync covers
  // the new entries. A leader may commit more afterwards (see flush()).
  struct SyncMark {
    Index last = 0;
    std::uint64_t epoch = 0;
  };
  SyncMark sync_mark() const { return {log_.last_index(), log_epoch_}; }
  void log_synced(SyncMark mark);
  bool has_ready() const { return storage_dirty_ || !ready_.empty() || read_round_wanted_; }

  const NodeName& name() const { return self_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  const std::optional<NodeName>& leader() const { return leader_; }
  // The latest configuration in the log (in effect even before it commits).
  const Configuration& configuration() const { return membership_; }
  Index commit_index() const { return commit_; }
  Index applied_index() const { return applied_; }
  Index last_index() const { return log_.last_index(); }
  Index snapshot_index() const { return snapshot_ ? snapshot_->meta.last_index : 0; }
  // A configuration entry is in the log but not committed yet.
  bool config_change_pending() const;
  const RaftLog& log() const { return log_; }
  const std::map<NodeName, Progress>& progress() const { return progress_; }

 private:
  // node.cpp
  void restore_from_storage();
  void become_follower(Term term, std::optional<NodeName> leader, std::string_view reason = "higher_term");
  void set_leader(std::optional<NodeName> leader);
  void update_term(Term term);
  void persist_hard_state();
  void send(const NodeName& to, Payload payload);
  void emit(EventKind kind, NodeName node = {}, std::string reason = {}, Index index = 0);
  core::Duration random_between(core::Duration low, core::Duration high);
  void reset_election_timer();
  bool lease_active() const;

  // election.cpp
  void on_election_timeout();
  void start_election(bool pre_vote, bool transfer);
  void handle_vote_request(const NodeName& from, const VoteRequest& request);
  void handle_vote_reply(const NodeName& from, const VoteReply& reply);
  void handle_timeout_now(const NodeName& from, const TimeoutNow& request);
  void become_leader();
  bool log_up_to_date(Index last_index, Term last_term) const;

  // replication.cpp
  void append_local(EntryType type, std::string data);
  void send_append(const NodeName& peer);
  void broadcast_append();
  void handle_append_request(const NodeName& from, const AppendRequest& request);
  void handle_append_reply(const NodeName& from, const AppendReply& reply);
  void maybe_commit();
  void advance_commit(Index commit);
  void apply_committed();

  // snapshot.cpp
  void maybe_take_snapshot();
  void finish_snapshot(std::shared_ptr<const Snapshot> snapshot, const SnapshotDue& due, bool compact_storage);
  void send_snapshot_chunk(const NodeName& peer);
  void handle_snapshot_request(const NodeName& from, const SnapshotRequest& request);
  void handle_snapshot_reply(const NodeName& from, const SnapshotReply& reply);
  void install_snapshot(Snapshot snapshot);

  // membership.cpp
  void note_config_entry(const LogEntry& entry);
  void forget_configs_after(Index last_kept);
  void refresh_membership();
  Configuration config_at(Index index) const;
  void sync_progress();
  bool caught_up(const NodeName& name) const;
  void run_membership_policy();
  void on_config_committed(const Configuration& config);

  // read_index.cpp
  void start_read_round();
  void confirm_reads();
  void fail_reads();

  // leader.cpp
  void on_heartbeat();
  void check_quorum();
  void maybe_send_timeout_now(const NodeName& peer);

  NodeName self_;
  RaftConfig options_;
  Storage& storage_;
  StateMachine& state_machine_;
  const core::Clock& clock_;
  std::mt19937_64 rng_;

  Role role_ = Role::follower;
  Term term_ = 0;
  NodeName vote_;
  std::optional<NodeName> leader_;
  core::TimePoint last_leader_contact_{};

  RaftLog log_;
  Index commit_ = 0;
  Index applied_ = 0;
  Index synced_last_ = 0;  // the local log is durable up to here
  std::uint64_t log_epoch_ = 0;  // bumped when entries are truncated or replaced
  bool committed_in_term_ = false;  // leader: an entry of term_ has committed
  bool storage_dirty_ = false;
  std::shared_ptr<const Snapshot> snapshot_;
  struct IncomingSnapshot {
    SnapshotMeta meta;
    std::string data;
  };
  std::optional<IncomingSnapshot> incoming_snapshot_;
  bool defer_snapshots_ = false;
  std::optional<SnapshotDue> snapshot_due_;      // not yet handed out
  std::optional<SnapshotDue> snapshot_running_;  // handed out, not yet taken

  // Membership: the configuration at the snapshot, config entries after it,
  // the latest of them (in effect) and the last one applied.
  Configuration base_config_;
  std::map<Index, Configuration> config_entries_;
  Configuration membership_;
  Configuration applied_config_;
  std::optional<LiveMembers> live_;

  // Candidate state.
  std::map<NodeName, bool> votes_;
  // Leader state.
  std::map<NodeName, Progress> progress_;
  Index term_start_index_ = 0;  // the leader's first entry (its no-op)
  std::optional<NodeName> transfer_target_;
  bool transfer_sent_ = false;
  // ReadIndex: reads waiting for the heartbeat round `round` to be answered
  // by a majority; the last round started, and whether reads wait for one.
  struct PendingRead {
    ReadId id;
    Index index;
    std::uint64_t round;
  };
  std::vector<PendingRead> reads_;
  std::uint64_t read_round_ = 0;
  bool read_round_wanted_ = false;

  core::TimePoint election_deadline_{};
  core::TimePoint heartbeat_deadline_{};
  core::TimePoint quorum_deadline_{};
  core::TimePoint transfer_deadline_{};

  Ready ready_;
};

}  // namespace idunno::raft
