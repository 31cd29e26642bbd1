#pragma once
// SdfsSimulation: the SDFS namespace hosted as machine "sdfs" on a simulated
// Raft cluster (core/raft/sim), driven by a model of the coordinator and of
// the data nodes' block stores, under crashes, disk loss and leader changes.
//
// Why: the namespace's guarantees only matter as the coordinator uses them
// across failures: an acknowledged put stays readable from a live copy until
// it is pruned or deleted, latest() never goes back, versions never repeat.
// The coordinator here does what the real one must: put (Begin, store on the
// chosen replicas, Commit on >= write_quorum of them, else Abort), delete,
// re-replicate with plan_repairs and forget replaced dead copies with
// dead_replicas, reconcile a restarted node against a ReadIndex read of
// held_by (drop unlisted blocks, RemoveReplica for lost ones), and abort
// stale pending versions of an earlier coordinator. The fault model: at most
// `max_failures` crashes (a crash may also wipe the node's block store, never
// its Raft state) between two healthy points (every acknowledged version on
// >= write_quorum live listed holders). One seed decides everything. The
// invariant checks live in namespace_sim_checks.hpp. Test-only.

#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "core/raft/routed_entry.hpp"
#include "core/raft/sim/sim_cluster.hpp"
#include "fs/namespace_sim_checks.hpp"
#include "fs/placement.hpp"

namespace idunno::fs::sim {

class SdfsSimulation : public SimChecks {
 public:
  SdfsSimulation(std::uint64_t seed, SimConfig config) : SimChecks(seed, config, options(config)) {
    cluster_.bootstrap(nodes_);
  }

  void run() {
    for (std::size_t step = 0; step < config_.steps; ++step) {
      const double r = uniform();
      if (r < 0.50) {
        put(pick(kNames));
      } else if (r < 0.55) {
        remove(pick(kNames));
      } else if (r < 0.72) {
        repair_round();
      } else if (r < 0.82) {
        crash_one();
      } else if (r < 0.93) {
        restart_one();
      } else {
        change_coordinator();
      }
      advance(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 20)(rng())));
      check_step();
    }
    finish();
  }

 private:
  static raft::sim::ClusterOptions options(const SimConfig& config) {
    raft::sim::ClusterOptions o;
    o.network.loss = 0.02;
    o.network.duplicate = 0.02;
    // Small snapshots: followers catch up by InstallSnapshot and restarted
    // nodes restore the namespace from one.
    o.raft.snapshot_entries = config.snapshot_entries;
    o.raft.snapshot_trailing_entries = config.snapshot_entries / 4;
    return o;
  }

  struct Reply {
    raft::Index index = 0;
    SdfsResult result;
  };

  // Proposes `command` on the leader, up to `attempts` times while the
  // outcome is unknown (only for commands that may run twice).
  std::optional<Reply> propose(const std::string& command, int attempts) {
    for (int attempt = 0; attempt < attempts; ++attempt) {
      const auto leader = wait_for_leader();
      if (!leader) return std::nullopt;
      const auto now_ms = static_cast<std::uint64_t>(core::to_millis(cluster_.now()));
      const auto proposal =
          cluster_.propose_on(*leader, raft::stamp_time(raft::routed_command("sdfs", command), now_ms));
      if (!proposal.accepted) {
        advance(std::chrono::milliseconds(10));
        continue;
      }
      waiting_ = Waiting{*leader, proposal.index, proposal.term, std::nullopt};
      // Sometimes the coordinator fails while its command is in flight.
      const double disrupt = uniform();
      const bool cut_off = disrupt < 0.03;
      if (cut_off) cluster_.partition({{*leader}});
      if (disrupt >= 0.03 && disrupt < 0.05) crash(*leader);
      advance_until([&] { return waiting_->reply.has_value() || !cluster_.is_up(*leader); },
                    std::chrono::milliseconds(500));
      if (cut_off) cluster_.heal();
      const auto reply = std::exchange(waiting_, std::nullopt)->reply;
      if (reply) {
        const auto routed = raft::decode_route_result(*reply);
        if (routed.status != raft::RouteStatus::ok) fail("route status " + std::string(to_string(routed.status)));
        return Reply{proposal.index, decode_sdfs_result(routed.payload)};
      }
      ++stats_.unknown_outcomes;
    }
    return std::nullopt;
  }

  // A leader whose namespace has applied everything committed before a
  // ReadIndex read: its state is current.
  std::optional<raft::NodeName> sync() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const auto leader = wait_for_leader();
      if (!leader) return std::nullopt;
      read_ = Read{++next_read_, false, false, 0};
      if (!cluster_.read_on(*leader, read_->id)) {
        advance(std::chrono::milliseconds(10));
        continue;
      }
      advance_until([&] { return read_->done || !cluster_.is_up(*leader); }, std::chrono::milliseconds(500));
      const auto read = *std::exchange(read_, std::nullopt);
      if (!read.done || !read.ok) continue;
      const bool applied =
          advance_until([&] { return cluster_.is_up(*leader) && cluster_.raft(*leader).applied_index() >= read.index; },
                        std::chrono::milliseconds(500));
      if (applied) return leader;
    }
    return std::nullopt;
  }

  void put(const std::string& name) {
    abort_stale_pending();
    const auto leader = wait_for_leader();
    if (!leader) return;
    ++stats_.puts;
    const auto live = up_nodes();
    const auto chosen = choose_replicas(name, namespace_of(*leader)->next_version(name), live, config_.replicas);
    const auto checksum = rng()();
    const auto begun = propose(sdfs_begin(name, checksum % 4096, checksum, chosen), 1);
    if (!begun || !begun->result.ok()) return;
    const auto version = begun->result.version;
    std::vector<std::string> stored;
    for (const auto& node : chosen) {
      if (!cluster_.is_up(node) || uniform() < 0.12) continue;  // a store that failed or timed out
      blocks_[node].insert({name, version});
      stored.push_back(node);
      if (uniform() < 0.05) crash_one();  // a crash in the middle of the put
    }
    if (stored.size() >= config_.write_quorum) {
      const auto committed = propose(sdfs_commit(name, version, stored, config_.max_versions), 3);
      if (!committed) return;
      if (!committed->result.ok()) fail("commit of a stored version failed: " + committed->result.error);
      acknowledge(name, version, committed->index);
      cluster_.trace("sdfs acked " + name + " v" + std::to_string(version) + " on" + joined(stored));
      drop_blocks(name, committed->result.removed);
      return;
    }
    ++stats_.aborted;
    const auto aborted = propose(sdfs_abort(name, version), 3);
    if (aborted && aborted->result.ok()) drop_blocks(name, aborted->result.removed);
  }

  // Flows run one at a time, so any pending version is a dead coordinator's.
  void abort_stale_pending() {
    const auto leader = wait_for_leader();
    if (!leader) return;
    for (const auto& stale : namespace_of(*leader)->pending()) {
      const auto aborted = propose(sdfs_abort(stale.name, stale.entry.version), 3);
      if (!aborted || !aborted->result.ok()) continue;
      ++stats_.stale_aborted;
      drop_blocks(stale.name, aborted->result.removed);
    }
  }

  void remove(const std::string& name) {
    const auto deleted = propose(sdfs_delete(name), 3);
    if (!deleted) return;
    ++stats_.deletes;
    if (deleted->result.ok()) drop_blocks(name, deleted->result.removed);
  }

  // The coordinator deletes the blocks a command removed, on live nodes;
  // a node that was down drops them when it restarts (reconcile).
  void drop_blocks(const std::string& name, const std::vector<RemovedVersion>& removed) {
    for (const auto& version : removed) {
      for (const auto& node : version.replicas) {
        if (cluster_.is_up(node)) blocks_[node].erase({name, version.version});
      }
    }
  }

  void repair_round() {
    const auto leader = sync();
    if (!leader) return;
    const auto live = up_set();
    for (const auto& task : plan_repairs(*namespace_of(*leader), live, config_.replicas, 8)) {
      const Block block{task.name, task.version};
      if (!cluster_.is_up(task.source) || !cluster_.is_up(task.target) || !blocks_[task.source].contains(block)) {
        continue;  // the listed source lost its copy: reconcile removes the listing
      }
      blocks_[task.target].insert(block);
      cluster_.trace("sdfs copy " + task.name + " v" + std::to_string(task.version) + " " + task.source + "->" +
                     task.target);
      const auto added = propose(sdfs_add_replica(task.name, task.version, task.target), 3);
      if (added && added->result.status == SdfsStatus::not_found) blocks_[task.target].erase(block);
      if (added && added->result.ok()) ++stats_.repairs;
    }
    const auto current = sync();
    if (!current) return;
    for (const auto& dead : dead_replicas(*namespace_of(*current), up_set(), config_.replicas)) {
      if (propose(sdfs_remove_replica(dead.name, dead.version, dead.node), 3)) ++stats_.dead_removed;
    }
    for (const auto& node : up_nodes()) reconcile(node, false);
  }

  // What a data node reports: listed versions it does not hold are
  // removed; at a restart it also drops the blocks no longer listed on it.
  void reconcile(const std::string& node, bool restarted) {
    const auto leader = sync();
    if (!leader || !cluster_.is_up(node)) return;
    const auto held = decode_sdfs_query_result(namespace_of(*leader)->query(sdfs_held_by(node)));
    if (!held.ok()) fail("held_by query failed: " + held.error);
    std::set<Block> listed;
    for (const auto& version : held.versions) {
      const Block block{version.name, version.entry.version};
      listed.insert(block);
      if (blocks_[node].contains(block)) continue;
      cluster_.trace("sdfs " + node + " lost " + block.first + " v" + std::to_string(block.second));
      if (propose(sdfs_remove_replica(block.first, block.second, node), 3)) ++stats_.lost_listings_removed;
    }
    if (restarted) {
      for (const auto& block : blocks_[node]) {
        if (!listed.contains(block))
          cluster_.trace("sdfs " + node + " drops " + block.first + " v" + std::to_string(block.second));
      }
    }
    if (restarted) std::erase_if(blocks_[node], [&](const Block& block) { return !listed.contains(block); });
  }

  void crash_one() {
    const auto up = up_nodes();
    if (!up.empty()) crash(pick(up));
  }

  // Within the fault budget only.
  void crash(const std::string& node) {
    if (failures_since_healthy_ >= config_.max_failures || up_nodes().size() + config_.max_failures <= nodes_.size()) {
      return;
    }
    cluster_.crash(node);
    forget(node);
    ++failures_since_healthy_;
    ++stats_.crashes;
    if (uniform() < config_.wipe_chance) {
      blocks_[node].clear();  // the data disk was replaced
      cluster_.trace("sdfs wiped " + node);
      ++stats_.wipes;
    }
  }

  void restart_one() {
    std::vector<std::string> down;
    for (const auto& node : nodes_) {
      if (!cluster_.is_up(node)) down.push_back(node);
    }
    if (down.empty()) return;
    const auto node = pick(down);
    cluster_.restart(node);
    ++stats_.restarts;
    reconcile(node, true);
  }

  // A handover or a leader cut off long enough for an election.
  void change_coordinator() {
    const auto leader = cluster_.leader();
    if (!leader) return;
    ++stats_.coordinator_changes;
    if (uniform() < 0.5) {
      cluster_.transfer_leadership();
      advance(std::chrono::milliseconds(100));
    } else {
      cluster_.partition({{*leader}});
      advance(std::chrono::milliseconds(600));
      cluster_.heal();
    }
  }

  // Every node back, the cluster converged and repaired: then every
  // acknowledged version is on `replicas` live holders.
  void finish() {
    for (const auto& node : nodes_) {
      if (!cluster_.is_up(node)) {
        cluster_.restart(node);
        reconcile(node, true);
      }
    }
    for (int round = 0; round < 20; ++round) {
      repair_round();
      const auto leader = sync();
      if (leader && plan_repairs(*namespace_of(*leader), up_set(), config_.replicas, 1).empty()) break;
    }
    if (!cluster_.converge(std::chrono::seconds(10))) fail("the cluster did not converge");
    check_final(config_.replicas);
  }

  static std::string joined(const std::vector<std::string>& nodes) {
    std::string out;
    for (const auto& node : nodes) out += " " + node;
    return out;
  }

  template <typename T>
  const T& pick(const std::vector<T>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng())];
  }
};

}  // namespace idunno::fs::sim
