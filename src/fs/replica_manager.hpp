#pragma once
// Re-replication on the coordinator: brings every committed SDFS version
// back to sdfs.replicas live copies after nodes die, forgets dead copies once
// they are replaced, aborts puts whose client died before it committed or
// aborted them, and deletes the blocks that deletes, pruning and aborts took
// out of the namespace.
//
// Why: a put is acknowledged on write_quorum copies, so every node death
// eats into the margin that lets SDFS survive the next crashes; the copies
// must come back quickly (DESIGN.md section 5: within a second of
// detection for a 40 MB file), with bounded parallelism so repair never
// starves puts and heartbeats, and the plan must be the same whoever
// coordinates (placement.hpp's plan_repairs and dead_replicas, functions of
// the namespace and the live set only).
//
// RepairPlanner is the sans-I/O core: from the namespace, the live set and
// the clock it decides which copies start (skipping those in flight and
// those that failed a moment ago), which dead listings to forget and which
// pending versions are abandoned. ReplicaManager is its shell on the event
// loop: it runs a round whenever something changed (leadership, the live
// set, an applied command, a copy ending) and at least every
// ReplicaPolicy::tick while this node leads, and does nothing otherwise.
// Copies and drops go through the ports (the data node's "sdfs.replicate"
// and "sdfs.drop"), proposals through the Raft log, so the manager is
// tested with fakes. A node that leads again starts from nothing: copies an
// earlier leader started finish or fail on their own and are planned
// again if still needed (AddReplica of a listed node changes nothing).
//
// Threading: the event loop only. The namespace is read on the loop between
// applies (it is the state machine the loop applies to).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/task_group.hpp"
#include "fs/namespace.hpp"
#include "fs/placement.hpp"
#include "net/async_signal.hpp"

namespace idunno::fs {

struct ReplicaPolicy {
  std::size_t replicas = 4;       // sdfs.replicas
  std::size_t max_parallel = 4;   // copies running at once
  // A copy that failed is not planned again with the same source and
  // target for this long (a full disk, a node that just died), and its
  // target is taken for that version only when no other node can be.
  std::chrono::milliseconds retry_after{2000};
  // A version this leader has seen pending for this long is abandoned: its
  // put's client died between Begin and Commit/Abort. Longer than any put.
  std::chrono::milliseconds pending_timeout{std::chrono::minutes(15)};
  // Rounds run at least this often while leading (retries, timeouts).
  std::chrono::milliseconds tick{1000};
};

// What one round decided.
struct RepairRound {
  std::vector<RepairTask> start;      // copies to begin now (in flight from now)
  std::vector<DeadReplica> forget;    // RemoveReplica of replaced dead copies
  std::vector<NamedVersion> abandon;  // Abort of stale pending versions
};

class RepairPlanner {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RepairPlanner(ReplicaPolicy policy) : policy_(policy) {}

  // Decides the round at `now`. The tasks returned count as in flight until
  // finished() is called for each.
  RepairRound plan(const Namespace& ns, const std::set<std::string>& live, Clock::time_point now);
  // A copy ended. A failed one is held back for retry_after.
  void finished(const RepairTask& task, bool ok, Clock::time_point now);
  // Forgets everything (leadership lost or regained).
  void reset();

  std::size_t in_flight() const { return in_flight_.size(); }
  const ReplicaPolicy& policy() const { return policy_; }

 private:
  // A copy in flight is one per (name, version, target), whatever its
  // source: a new replica may become a source for the same target.
  using Copy = std::tuple<std::string, std::uint64_t, std::string>;
  static Copy copy_of(const RepairTask& task) { return {task.name, task.version, task.target}; }
  // A failed attempt is held back per source too: planned again at once
  // with another source (the first one died).
  using Attempt = std::tuple<std::string, std::uint64_t, std::string, std::string>;
  static Attempt attempt_of(const RepairTask& task) { return {task.name, task.version, task.source, task.target}; }

  ReplicaPolicy policy_;
  std::set<Copy> in_flight_;
  std::map<Attempt, Clock::time_point> held_back_;  // until when
  // Targets whose copy failed, taken last for that version until when.
  std::map<Copy, Clock::time_point> avoided_;
  std::map<std::pair<std::string, std::uint64_t>, Clock::time_point> pending_since_;
};

// How the manager reaches the rest of the node.
struct ReplicaPorts {
  // Proposes a namespace command through the log (exactly once) and returns
  // its result once applied here; nullopt when the outcome is unknown (no
  // leader, timed out).
  std::function<boost::asio::awaitable<std::optional<SdfsResult>>(std::string command)> submit;
  // Makes task.target copy the version from task.source; returns "" once
  // the target holds it durably and verified, else why not.
  std::function<boost::asio::awaitable<std::string>(RepairTask task, VersionEntry entry)> copy;
  // Asks `node` to delete its blocks of `name` at `versions`; best effort
  // (a node that misses it drops them when it restarts).
  std::function<boost::asio::awaitable<void>(std::string node, std::string name, std::vector<std::uint64_t> versions)>
      drop;
};

struct ReplicaStats {
  std::uint64_t copies_ok = 0;
  std::uint64_t copies_failed = 0;
  std::uint64_t copy_bytes = 0;
  double copy_seconds = 0;        // summed over successful copies
  std::uint64_t forgotten = 0;    // dead listings removed
  std::uint64_t abandoned = 0;    // stale pending versions aborted
  std::uint64_t drops = 0;        // drop requests sent
};

class ReplicaManager {
 public:
  ReplicaManager(boost::asio::any_io_executor executor, const Namespace& ns, ReplicaPolicy policy, ReplicaPorts ports);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  void start();
  // Cancels the loop and running copies and waits for them.
  boost::asio::awaitable<void> stop();

  // This node leads with a current namespace (Raft's leader-ready), or no
  // longer leads.
  void set_leading(bool leading);
  // The live members (names) as membership sees them, this node included.
  void set_live(std::set<std::string> live);
  // An SDFS command was applied here, with its result: on the leader, the
  // versions it removed are dropped from their live holders, and a commit
  // on fewer than `replicas` nodes is topped up.
  void applied(std::string_view command, std::string_view result);

  bool leading() const { return leading_; }
  const ReplicaStats& stats() const { return stats_; }
  std::size_t copies_running() const { return planner_.in_flight(); }

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> round();
  boost::asio::awaitable<void> run_copy(RepairTask task, std::uint64_t generation);
  boost::asio::awaitable<void> run_drops(std::string name, std::vector<RemovedVersion> removed);
  // ports_.drop, failures logged (never thrown, but for cancellation).
  boost::asio::awaitable<void> drop_quietly(std::string node, std::string name, std::vector<std::uint64_t> versions);
  void wake() {
    dirty_ = true;
    changed_.notify_all();
  }

  const Namespace& ns_;
  ReplicaPorts ports_;
  RepairPlanner planner_;
  std::set<std::string> live_;
  bool leading_ = false;
  // Bumped on every leadership change: a copy from an earlier term does not
  // report to the planner of this one.
  std::uint64_t generation_ = 0;
  ReplicaStats stats_;
  bool dirty_ = true;  // something changed since the last round began
  net::AsyncSignal changed_;
  core::TaskGroup tasks_;
};

}  // namespace idunno::fs
