// The fair-time scheduler in deterministic simulation: workers run their
// leased shards on a simulated clock at each job's cost per query; the job
// table (the replicated state) applies every lease and completion as the
// log would. Checks: query rates over 10 s windows stay level for jobs
// whose costs differ 10x and 100x, on 3..10 workers, with two and three
// jobs and with shares; no worker idles while a job has work; every query
// is in exactly one completed shard despite worker crashes (3 at once),
// late completions from workers presumed dead, duplicate completions and a
// coordinator change (a new table restored from the old one's snapshot).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ml/jobs/job_table.hpp"
#include "ml/jobs/scheduler.hpp"

namespace idunno::ml::jobs {
namespace {

namespace json = boost::json;

struct SimJob {
  std::string name;
  std::uint64_t cost_us = 0;  // per query
  std::uint64_t queries = 0;
  std::uint64_t batch = 32;
  std::uint64_t share = 1;
};

struct Running {
  std::string job;
  std::uint64_t shard = 0;
  std::uint64_t attempt = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t batch = 0;
};

struct Worker {
  std::string name;
  bool alive = true;
  std::deque<Running> queue;  // runs front first
  std::uint64_t front_started_us = 0;
};

class Sim {
 public:
  Sim(std::size_t workers, std::vector<SimJob> jobs, std::uint64_t seed) : jobs_(std::move(jobs)), rng_(seed) {
    for (std::size_t i = 0; i < workers; ++i) workers_.push_back(Worker{"w" + std::to_string(i + 1), true, {}, 0});
    for (const auto& job : jobs_) cost_[job.name] = job.cost_us;
  }

  void add_jobs() {
    for (const auto& job : jobs_) {
      JobEntry entry;
      entry.name = job.name;
      entry.model = ModelRef{"lenet", true, 1, 0};
      entry.data.images = "data/" + job.name;
      entry.data.queries = job.queries;
      entry.batch = job.batch;
      entry.share = job.share;
      const auto reply = apply(add_job_command(entry, now_ms()));
      ASSERT_TRUE(reply.at("ok").as_bool()) << json::serialize(reply);
    }
    schedule();
  }

  json::object apply(const json::object& command) {
    const std::string text = json::serialize(command);
    const auto reply = json::parse(table_.apply(++index_, text)).as_object();
    return reply;
  }

  // Runs until every job is done or `until_us`.
  void run(std::uint64_t until_us) {
    while (now_us_ < until_us && !all_done()) {
      // The next completion among live workers.
      Worker* next = nullptr;
      std::uint64_t next_at = UINT64_MAX;
      for (auto& w : workers_) {
        if (!w.alive || w.queue.empty()) continue;
        const auto at = w.front_started_us + duration_us(w.queue.front());
        if (at < next_at) {
          next_at = at;
          next = &w;
        }
      }
      if (next == nullptr) {
        ASSERT_TRUE(false) << "no worker has work at " << now_us_ << " us but jobs are not done";
        return;
      }
      if (next_at > until_us) {
        now_us_ = until_us;
        return;
      }
      now_us_ = next_at;
      Running done = next->queue.front();
      next->queue.pop_front();
      next->front_started_us = now_us_;
      complete(*next, done);
      if (duplicate_rate_ > 0 && std::bernoulli_distribution(duplicate_rate_)(rng_)) complete(*next, done);
      schedule();
    }
  }

  void complete(const Worker& worker, const Running& r) {
    ShardOutcome outcome;
    outcome.job = r.job;
    outcome.shard = r.shard;
    outcome.attempt = r.attempt;
    outcome.worker = worker.name;
    outcome.queries = r.end - r.begin;
    for (std::uint64_t b = r.begin; b < r.end; b += r.batch) {
      const auto q = std::min(r.batch, r.end - b);
      outcome.batch_queries.push_back(q);
      outcome.batch_ns.push_back(static_cast<std::int64_t>(q * cost_.at(r.job) * 1000));
    }
    outcome.results_version = 1;
    outcome.finished_ms = now_ms();
    const auto reply = apply(complete_command(outcome));
    ASSERT_TRUE(reply.at("ok").as_bool()) << json::serialize(reply);
    if (!reply.contains("duplicate")) {
      // Each batch's queries when that batch ended (they run in order).
      std::uint64_t at = now_us_ - (r.end - r.begin) * cost_.at(r.job);
      for (const auto q : outcome.batch_queries) {
        at += q * cost_.at(r.job);
        completions_[r.job].push_back({at, q});
      }
    }
  }

  void schedule() {
    std::vector<std::string> live;
    for (const auto& w : workers_) {
      if (w.alive) live.push_back(w.name);
    }
    for (const auto& d : plan_leases(table_, live, policy_)) {
      const auto reply = apply(lease_command(d.job, d.shard, d.begin, d.end, d.batch, d.worker, now_ms()));
      ASSERT_TRUE(reply.at("ok").as_bool()) << json::serialize(reply);
      auto& w = worker(d.worker);
      if (w.queue.empty()) w.front_started_us = now_us_;
      w.queue.push_back(
          Running{d.job, d.shard, reply.at("attempt").to_number<std::uint64_t>(), d.begin, d.end, d.batch});
    }
    // Work-conserving: while a runnable job has work, every live worker
    // holds a lease.
    const bool work_left = std::any_of(table_.jobs().begin(), table_.jobs().end(), [](const auto& entry) {
      return entry.second.state == JobState::running && entry.second.has_work();
    });
    if (work_left) {
      for (const auto& w : workers_) {
        if (w.alive) {
          EXPECT_FALSE(w.queue.empty()) << w.name << " idles at " << now_us_;
        }
      }
    }
  }

  // kill -9 of a worker: membership declares it dead, the coordinator
  // releases its leases. With `finish_late`, its current shard's completion
  // still arrives (a worker presumed dead that was only slow).
  void crash(const std::string& name, bool finish_late) {
    auto& w = worker(name);
    w.alive = false;
    std::optional<Running> late;
    if (finish_late && !w.queue.empty()) late = w.queue.front();
    w.queue.clear();
    const auto reply = apply(release_command(name, now_ms()));
    ASSERT_TRUE(reply.at("ok").as_bool());
    schedule();
    if (late) complete(w, *late);
    schedule();
  }

  void revive(const std::string& name) {
    auto& w = worker(name);
    w.alive = true;
    w.front_started_us = now_us_;
    schedule();
    EXPECT_FALSE(w.queue.empty()) << "a rejoining worker gets work at once";
  }

  // The coordinator changes: the new one holds a table restored from the
  // old one's snapshot (as a follower's copy would be) and goes on.
  void change_coordinator() {
    JobTable successor;
    successor.restore(table_.snapshot());
    ASSERT_EQ(successor.snapshot(), table_.snapshot());
    ASSERT_TRUE(successor == table_);
    table_ = std::move(successor);
    schedule();
  }

  // max/min over time of the jobs' 10 s query counts ÷ share, sampled every
  // second in [from_us, to_us] (both jobs running throughout).
  double fairness(std::uint64_t from_us, std::uint64_t to_us) const {
    double worst = 1;
    for (std::uint64_t t = from_us; t <= to_us; t += 1'000'000) {
      double lo = 1e300;
      double hi = 0;
      for (const auto& job : jobs_) {
        std::uint64_t in = 0;
        for (const auto& [at, q] : completions_.at(job.name)) {
          if (at > t - 10'000'000 && at <= t) in += q;
        }
        const double per_share = static_cast<double>(in) / static_cast<double>(job.share);
        lo = std::min(lo, per_share);
        hi = std::max(hi, per_share);
      }
      if (lo > 0) worst = std::max(worst, hi / lo);
    }
    return worst;
  }

  // The end of the earliest job to finish (its last completion).
  std::uint64_t first_finish_us() const {
    std::uint64_t out = UINT64_MAX;
    for (const auto& [name, list] : completions_) out = std::min(out, list.empty() ? 0 : list.back().first);
    return out;
  }

  bool all_done() const {
    return std::all_of(table_.jobs().begin(), table_.jobs().end(),
                       [](const auto& entry) { return entry.second.all_done(); });
  }

  // Every query of every job is in exactly one done shard, counted once.
  void check_exactly_once() const {
    for (const auto& job : jobs_) {
      const JobEntry* entry = table_.job(job.name);
      ASSERT_NE(entry, nullptr);
      std::uint64_t next = 0;
      for (const auto& [id, shard] : entry->shards) {
        EXPECT_EQ(shard.begin, next) << job.name << " shard " << id;
        EXPECT_EQ(shard.state, ShardState::done) << job.name << " shard " << id;
        next = shard.end;
      }
      EXPECT_EQ(next, job.queries);
      EXPECT_EQ(entry->done, job.queries);
      EXPECT_EQ(entry->stats.done(), job.queries);
      std::uint64_t counted = 0;
      for (const auto& [at, q] : completions_.at(job.name)) counted += q;
      EXPECT_EQ(counted, job.queries);
    }
  }

  std::uint64_t now_us() const { return now_us_; }
  double& duplicate_rate() { return duplicate_rate_; }
  const JobTable& table() const { return table_; }
  std::vector<Worker>& workers() { return workers_; }

 private:
  std::uint64_t now_ms() const { return now_us_ / 1000; }
  std::uint64_t duration_us(const Running& r) const { return (r.end - r.begin) * cost_.at(r.job); }
  Worker& worker(const std::string& name) {
    return *std::find_if(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.name == name; });
  }

  std::vector<SimJob> jobs_;
  std::map<std::string, std::uint64_t> cost_;
  std::vector<Worker> workers_;
  JobTable table_;
  SchedulerPolicy policy_;
  raft::Index index_ = 0;
  std::uint64_t now_us_ = 0;
  std::mt19937_64 rng_;
  double duplicate_rate_ = 0;
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> completions_;
};

// Queries for each job so that, at equal rates, all run about `seconds`.
std::vector<SimJob> level_jobs(std::vector<SimJob> jobs, std::size_t workers, double seconds) {
  double weighted = 0;
  for (const auto& j : jobs) weighted += static_cast<double>(j.share * j.cost_us);
  const double rate_per_share = static_cast<double>(workers) * 1e6 / weighted;
  for (auto& j : jobs) j.queries = static_cast<std::uint64_t>(rate_per_share * static_cast<double>(j.share) * seconds);
  return jobs;
}

void expect_fair(std::size_t workers, std::vector<SimJob> jobs, double bound) {
  Sim sim(workers, level_jobs(std::move(jobs), workers, 120), 1);
  sim.add_jobs();
  sim.run(600'000'000);
  ASSERT_TRUE(sim.all_done());
  // After the first window, until a job runs out of work.
  const auto end = sim.first_finish_us();
  ASSERT_GT(end, 40'000'000U);
  const double ratio = sim.fairness(15'000'000, end - 5'000'000);
  EXPECT_LE(ratio, bound) << workers << " workers";
  sim.check_exactly_once();
}

TEST(SchedulerSim, TwoJobsTenTimesApartGetEqualRates) {
  for (std::size_t w = 3; w <= 10; ++w) expect_fair(w, {{"cheap", 200}, {"costly", 2000}}, 1.05);
}

TEST(SchedulerSim, TwoJobsHundredTimesApartGetEqualRates) {
  for (std::size_t w = 3; w <= 10; ++w) expect_fair(w, {{"cheap", 20}, {"costly", 2000}}, 1.05);
}

TEST(SchedulerSim, ThreeJobsGetEqualRates) {
  for (std::size_t w = 3; w <= 10; ++w) expect_fair(w, {{"a", 20}, {"b", 200}, {"c", 2000}}, 1.05);
}

TEST(SchedulerSim, SharesWeightTheRates) {
  for (std::size_t w : {3, 7}) {
    expect_fair(w, {{"one", 200, 0, 32, 1}, {"three", 2000, 0, 32, 3}}, 1.05);
  }
}

// Adds "late", 5,000 queries in batches of 32, at 5 s; whether it was taken.
bool add_late_job(Sim& sim) {
  JobEntry late;
  late.name = "late";
  late.model = ModelRef{"lenet", true, 1, 0};
  late.data.queries = 5000;
  late.batch = 32;
  return sim.apply(add_job_command(late, 5000)).at("ok").as_bool();
}

TEST(SchedulerSim, ANewJobStartsAtOnceWhileEveryWorkerIsBusy) {
  auto jobs = level_jobs({{"first", 500}}, 4, 60);
  Sim sim(4, jobs, 5);
  sim.add_jobs();
  sim.run(5'000'000);
  ASSERT_TRUE(add_late_job(sim));
  std::vector<std::string> live;
  for (const auto& w : sim.workers()) live.push_back(w.name);
  const auto leases = plan_leases(sim.table(), live, SchedulerPolicy{});
  ASSERT_EQ(leases.size(), 1U) << "every worker is busy with 'first', yet 'late' gets its first shard";
  EXPECT_EQ(leases[0].job, "late");
  EXPECT_EQ(leases[0].end - leases[0].begin, 32U) << "one batch, its cost being unknown";
}

TEST(SchedulerSim, AJobAloneGetsLongShardsUntilAnotherArrives) {
  // 500 us a query, batches of 32: 16 ms a batch on one worker.
  auto jobs = level_jobs({{"first", 500}}, 4, 60);
  Sim sim(4, jobs, 5);
  sim.add_jobs();
  sim.run(5'000'000);
  const SchedulerPolicy policy;
  const JobEntry* first = sim.table().job("first");
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->cost_ns, 500'000U);
  // Alone: about solo_shard_target (125 batches), held to the window's cap:
  // 4 workers x 2,000 queries/s x 10 s / 40 = 2,000 queries, 62 batches.
  EXPECT_EQ(next_shard_queries(sim.table(), *first, 4, policy), 62U * 32U);
  ASSERT_TRUE(add_late_job(sim));
  // Sharing: about shard_target, 400 ms / 16 ms = 25 batches.
  EXPECT_EQ(next_shard_queries(sim.table(), *sim.table().job("first"), 4, policy), 25U * 32U);
}

TEST(SchedulerSim, AJobFinishingLeavesItsShareToTheOthers) {
  // "short" has a tenth of the queries: once it is done, "long" gets every
  // worker (work conservation is checked after every step).
  auto jobs = level_jobs({{"short", 500}, {"long", 500}}, 4, 60);
  jobs[0].queries /= 10;
  Sim sim(4, jobs, 3);
  sim.add_jobs();
  sim.run(600'000'000);
  ASSERT_TRUE(sim.all_done());
  sim.check_exactly_once();
}

TEST(SchedulerSim, NoQueryIsLostThroughCrashesLateAndDuplicateCompletionsAndCoordinatorChanges) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t workers = 5 + seed % 6;
    Sim sim(workers, level_jobs({{"a", 100}, {"b", 1000}, {"c", 300}}, workers, 60), seed);
    sim.duplicate_rate() = 0.05;
    sim.add_jobs();
    sim.run(10'000'000);
    // 3 workers at once, one of them only slow: its shard completes late.
    std::vector<std::string> names;
    for (const auto& w : sim.workers()) names.push_back(w.name);
    std::shuffle(names.begin(), names.end(), rng);
    for (int i = 0; i < 3; ++i) sim.crash(names[static_cast<std::size_t>(i)], i == 0);
    sim.run(20'000'000);
    sim.change_coordinator();
    sim.run(30'000'000);
    sim.revive(names[1]);
    sim.change_coordinator();
    sim.run(2'000'000'000);
    ASSERT_TRUE(sim.all_done()) << "seed " << seed;
    sim.check_exactly_once();
  }
}

}  // namespace
}  // namespace idunno::ml::jobs
