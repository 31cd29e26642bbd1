#include "ml/jobs/scheduler.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "ml/jobs/shard_planner.hpp"

namespace idunno::ml::jobs {

namespace {

// What planning needs of one runnable job, updated as decisions are made.
struct Candidate {
  const JobEntry* job = nullptr;
  double vtime = 0;
  std::deque<std::uint64_t> queued;  // re-queued shard ids, oldest first
  std::uint64_t planned = 0;
  std::uint64_t next_id = 0;
  bool has_work() const { return !queued.empty() || planned < job->total(); }
};

}  // namespace

std::uint64_t next_shard_queries(const JobTable& table, const JobEntry& job, std::size_t workers,
                                 const SchedulerPolicy& policy) {
  const std::uint64_t batch = std::max<std::uint64_t>(1, job.batch);
  const auto batch_time = core::Duration(static_cast<std::int64_t>(job.cost_ns * batch));
  // The running inference jobs with work share the workers' time.
  const auto sharing = [](const JobEntry& other) {
    return other.state == JobState::running && other.kind == "infer" && other.has_work();
  };
  const bool alone = std::none_of(table.jobs().begin(), table.jobs().end(), [&](const auto& entry) {
    return entry.second.name != job.name && sharing(entry.second);
  });
  const auto target = alone ? policy.solo_shard_target : policy.shard_target;
  std::uint64_t batches = batches_per_shard_for(batch_time, target, policy.max_batches_per_shard);
  // Every worker should get a part of the job: at most a share of the
  // whole for each slot (in whole batches).
  const std::uint64_t slots = std::max<std::size_t>(1, workers * std::max<std::size_t>(1, policy.leases_per_worker));
  const std::uint64_t total_batches = (job.total() + batch - 1) / batch;
  batches = std::min(batches, std::max<std::uint64_t>(1, total_batches / slots));
  // At the fair rate r per share (the workers' time divided over the
  // running jobs' costs), the job completes 10 s x share x r queries per
  // window; a shard is at most 1/shards_per_window of that.
  double weighted_cost_ns = 0;
  for (const auto& [name, other] : table.jobs()) {
    if (sharing(other) && other.cost_ns > 0) {
      weighted_cost_ns += static_cast<double>(other.share) * static_cast<double>(other.cost_ns);
    }
  }
  if (job.cost_ns > 0 && weighted_cost_ns > 0 && policy.shards_per_window > 0) {
    const double rate_per_share = static_cast<double>(std::max<std::size_t>(1, workers)) * 1e9 / weighted_cost_ns;
    const double window_queries =
        std::chrono::duration<double>(kRateWindow).count() * static_cast<double>(job.share) * rate_per_share;
    const auto cap = static_cast<std::uint64_t>(window_queries / static_cast<double>(policy.shards_per_window));
    batches = std::min(batches, std::max<std::uint64_t>(1, cap / batch));
  }
  return std::max<std::uint64_t>(1, batches) * batch;
}

std::vector<LeaseDecision> plan_leases(const JobTable& table, const std::vector<std::string>& workers,
                                       const SchedulerPolicy& policy) {
  std::vector<LeaseDecision> out;
  if (workers.empty()) return out;
  std::map<std::string, std::size_t, std::less<>> busy;
  std::vector<Candidate> candidates;
  for (const auto& [name, job] : table.jobs()) {
    for (const auto& [id, shard] : job.shards) {
      if (shard.state == ShardState::leased) ++busy[shard.worker];
    }
    if (job.state != JobState::running || job.kind != "infer") continue;
    Candidate c;
    c.job = &job;
    c.vtime = job.vtime;
    for (const auto& [id, shard] : job.shards) {
      if (shard.state == ShardState::queued) c.queued.push_back(id);
    }
    c.planned = job.planned;
    c.next_id = job.shards.empty() ? 0 : job.shards.rbegin()->first + 1;
    if (c.has_work()) candidates.push_back(std::move(c));
  }
  // Slots are filled round by round (every worker's first free slot, then
  // the second), so work spreads over workers before it doubles up. A job
  // that has no shard yet gets its first (one batch: its cost is unknown)
  // at once, on the least busy worker, even when every slot is taken: a
  // new job starts without waiting for another job's shard to end.
  for (auto& c : candidates) {
    if (!c.job->shards.empty() || c.job->cost_ns != 0) continue;
    const auto least = std::min_element(workers.begin(), workers.end(),
                                        [&busy](const auto& a, const auto& b) { return busy[a] < busy[b]; });
    if (busy[*least] < policy.leases_per_worker) continue;  // a free slot will take it below
    LeaseDecision d;
    d.job = c.job->name;
    d.worker = *least;
    d.shard = c.next_id++;
    d.begin = c.planned;
    d.end = std::min(c.job->total(), d.begin + std::max<std::uint64_t>(1, c.job->batch));
    d.batch = c.job->batch;
    c.planned = d.end;
    c.vtime += static_cast<double>(d.end - d.begin) / static_cast<double>(c.job->share);
    ++busy[*least];
    out.push_back(std::move(d));
  }
  for (std::size_t round = 0; round < policy.leases_per_worker; ++round) {
    for (const auto& worker : workers) {
      if (busy[worker] > round) continue;
      Candidate* best = nullptr;
      for (auto& c : candidates) {
        if (!c.has_work()) continue;
        if (best == nullptr || c.vtime < best->vtime) best = &c;  // ties: the first by name
      }
      if (best == nullptr) return out;
      LeaseDecision d;
      d.job = best->job->name;
      d.worker = worker;
      if (!best->queued.empty()) {
        d.shard = best->queued.front();
        best->queued.pop_front();
        const ShardEntry& shard = best->job->shards.at(d.shard);
        d.begin = shard.begin;
        d.end = shard.end;
        d.batch = shard.batch;
      } else {
        d.shard = best->next_id++;
        d.begin = best->planned;
        d.end = std::min(best->job->total(), d.begin + next_shard_queries(table, *best->job, workers.size(), policy));
        d.batch = best->job->batch;
        best->planned = d.end;
      }
      best->vtime += static_cast<double>(d.end - d.begin) / static_cast<double>(best->job->share);
      ++busy[worker];
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<LeaseKey> expired_leases(const JobTable& table, std::uint64_t now_ms, const SchedulerPolicy& policy) {
  std::vector<LeaseKey> out;
  for (const auto& [name, job] : table.jobs()) {
    for (const auto& [id, shard] : job.shards) {
      if (shard.state != ShardState::leased) continue;
      const double expected_ms = static_cast<double>(job.cost_ns) * static_cast<double>(shard.queries()) / 1e6;
      const auto timeout =
          std::max<std::uint64_t>(static_cast<std::uint64_t>(policy.lease_timeout_min.count()),
                                  static_cast<std::uint64_t>(policy.lease_timeout_factor * expected_ms));
      if (now_ms > shard.leased_ms + timeout) out.push_back({name, id, shard.attempt});
    }
    const TrainEntry& t = job.train;
    if (!t.group.empty()) {
      double longest_ms = 0;
      for (const auto& e : t.history) longest_ms = std::max(longest_ms, e.seconds * 1000);
      const auto timeout =
          std::max<std::uint64_t>(static_cast<std::uint64_t>(policy.train_timeout_min.count()),
                                  static_cast<std::uint64_t>(policy.train_timeout_factor * longest_ms));
      if (now_ms > t.leased_ms + timeout) out.push_back({name, 0, t.attempt});
    }
  }
  return out;
}

std::vector<LeaseKey> leases_of(const JobTable& table, std::string_view worker) {
  std::vector<LeaseKey> out;
  for (const auto& [name, job] : table.jobs()) {
    for (const auto& [id, shard] : job.shards) {
      if (shard.state == ShardState::leased && shard.worker == worker) out.push_back({name, id, shard.attempt});
    }
    const auto& group = job.train.group;
    if (std::find(group.begin(), group.end(), worker) != group.end()) out.push_back({name, 0, job.train.attempt});
  }
  return out;
}

std::vector<LeaseKey> orphaned_leases(const JobTable& table, std::string_view worker,
                                      const std::vector<LeaseKey>& asked, const std::set<LeaseKey>& held) {
  const std::vector<LeaseKey> now = leases_of(table, worker);
  const std::set<LeaseKey> current(now.begin(), now.end());
  std::vector<LeaseKey> out;
  for (const auto& lease : asked) {
    if (current.contains(lease) && !held.contains(lease)) out.push_back(lease);
  }
  return out;
}

}  // namespace idunno::ml::jobs
