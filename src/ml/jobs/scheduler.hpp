#pragma once
// The fair-time scheduler's decisions: which shard each free worker slot
// gets, and which leases have outlived their time.
//
// Why: concurrent inference jobs must get equal query rates (in proportion
// to their shares) whatever their models cost, without idling a worker
// while any job has queries left (DESIGN.md 7). The job table keeps, per
// job, its virtual time (queries leased ÷ share, lifted when the job
// starts); a free slot goes to the runnable job with the least virtual
// time, so every job is leased queries at the same pace and a costly model
// simply takes more worker time for them. A worker serves whichever jobs
// are behind (time-sharing), so fairness does not hinge on how many
// workers there are. Re-queued shards go first (their range and batch are
// fixed); otherwise the next shard is cut at the job's current batch size,
// sized by its measured cost to about `shard_target` of one worker's time
// (`solo_shard_target` for a job that runs alone), and small enough that
// every worker gets a share of the job.
//
// Pure functions of the table (sans-I/O, deterministic); the coordinator
// service proposes what they return through the log.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ml/jobs/job_table.hpp"

namespace idunno::ml::jobs {

struct SchedulerPolicy {
  // A shard should take about this long on one worker while other
  // inference jobs have work too: short shards keep the jobs' rates level
  // (scheduler_sim_test holds 1.05 with 400 ms; run by hand with 700, it
  // failed).
  std::chrono::milliseconds shard_target{400};
  // ... and while the job runs alone, with no rate to keep level: every
  // shard costs the cluster's event loops a lease, its fetches, its
  // results put and its completion, about 20 ms of CPU over 8 nodes, so
  // longer shards leave more of the machines to the forward passes. The
  // caps below still hold (max_batches_per_shard, and 1/shards_per_window
  // of a window: 0.25 s x workers of one worker's time for a job alone),
  // so a shard reaches this only on many workers with slow batches. A
  // job that arrives makes the running one's next shards short again.
  std::chrono::milliseconds solo_shard_target{2000};
  std::size_t max_batches_per_shard = 64;
  // A shard holds at most this fraction of what a job should complete in
  // one rate window (10 s at the fair rate the measured costs predict), so
  // that one shard more or less in a window moves its rate little.
  std::size_t shards_per_window = 40;
  // Leases a worker holds at once. More than one overlaps the next shard's
  // fetch with the current one's forward passes, but the queries leased
  // and waiting behind another shard make rates uneven (scheduler_sim_test
  // run by hand with 2 gave 1.075 for three jobs on five workers; its tests
  // hold 1.05 with 1).
  std::size_t leases_per_worker = 1;
  // A lease not completed after max(min, factor x its expected time) is
  // given back (the worker is alive but the shard is lost, e.g. it
  // restarted).
  std::chrono::milliseconds lease_timeout_min{30'000};
  double lease_timeout_factor = 20;
  // A training group that recorded no epoch for max(min, factor x its
  // longest epoch so far) gives its lease back (a rank restarted before
  // membership noticed, and the others cannot notice: a group of one).
  std::chrono::milliseconds train_timeout_min{30 * 60'000};
  double train_timeout_factor = 5;
};

struct LeaseDecision {
  std::string job;
  std::uint64_t shard = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t batch = 0;
  std::string worker;
  bool operator==(const LeaseDecision&) const = default;
};

// Leases for the free slots of `workers` (live workers, in a stable order),
// as if each were applied in turn, plus the first shard of a job that has
// none yet even when no slot is free. Empty when no job has work or no
// slot is free.
std::vector<LeaseDecision> plan_leases(const JobTable& table, const std::vector<std::string>& workers,
                                       const SchedulerPolicy& policy);

// Leases that have run out of time at `now_ms`: shards (job, shard,
// attempt) and training groups (job, attempt; shard 0).
std::vector<LeaseKey> expired_leases(const JobTable& table, std::uint64_t now_ms, const SchedulerPolicy& policy);

// The leases `worker` holds in the table: its leased shards, and the
// training group it is a rank of.
std::vector<LeaseKey> leases_of(const JobTable& table, std::string_view worker);

// Orphaned leases: of `asked` (leases_of `worker`, taken before the worker
// was asked what it holds), those the table still holds for it, at the same
// attempt, that are not in `held` (what the worker answered: the shards it
// runs or is reporting, its training ranks). Their start never reached the
// worker (the coordinator that leased them died before sending it), or the
// worker restarted since; either way nobody works on them, so they go back
// at once instead of waiting out their lease's timeout.
std::vector<LeaseKey> orphaned_leases(const JobTable& table, std::string_view worker,
                                      const std::vector<LeaseKey>& asked, const std::set<LeaseKey>& held);

// Queries in the next new shard of `job` (before cutting it), given
// `workers` live workers: whole batches, at least one.
std::uint64_t next_shard_queries(const JobTable& table, const JobEntry& job, std::size_t workers,
                                 const SchedulerPolicy& policy);

}  // namespace idunno::ml::jobs
