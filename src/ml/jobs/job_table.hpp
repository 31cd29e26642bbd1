#pragma once
// JobTable: the jobs as a replicated state machine (hosted on the
// coordinator's log as "jobs", beside "kv" and "sdfs").
//
// Why: every scheduling decision that must survive the coordinator is a
// command in the log: a job added, a shard leased to a worker, a shard
// completed, a dead worker's shards released, the phase switched. A new
// coordinator finds, in its own copy, every job, every shard with its lease
// and every statistic, and continues where the old one stopped. Leases are
// decided by the leader (scheduler.hpp) and only recorded here; apply()
// checks that a command still makes sense (a lease of a shard that is
// already leased, a completion of a removed job) and refuses it otherwise,
// so a stale or duplicated proposal changes nothing.
//
// Shards are cut lazily: a lease either re-leases a queued shard (whose
// range and batch size are fixed forever, so its result bytes never
// change) or cuts the next one from where the planned ones end, in the
// job's current batch size (so set-batch applies to the next shards).
// Completions are idempotent: the first completion of a shard counts (its
// queries, accuracy, batch times, rate window), any later one is answered
// "duplicate" and changes nothing.
//
// Fairness bookkeeping: each running job has a virtual time, the queries
// leased to it (in flight or done) divided by its share; the scheduler
// leases to the job with the least. A job that becomes runnable (added, or
// resumed) is lifted to the least virtual time of the jobs already running
// (VTC's lift rule), so it cannot claim service it never asked for. A
// released shard gives its queries back.
//
// Commands and results are JSON objects (`{"op":"add",...}` →
// `{"ok":true,...}` or `{"ok":false,"error":"..."}`); apply() never throws.
// Time comes only from commands (`at_ms`), never from a local clock.
//
// Threading: apply() and restore() on the loop that runs the Raft core;
// the const methods may run concurrently with each other.

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/raft/state_machine.hpp"
#include "ml/jobs/job_stats.hpp"
#include "ml/jobs/shard_task.hpp"

namespace idunno::ml::jobs {

enum class Phase : std::uint8_t { stopped, infer, train };
enum class JobState : std::uint8_t { queued, running, paused, done, failed };
enum class ShardState : std::uint8_t { queued, leased, done };

std::string_view to_string(Phase phase);
std::string_view to_string(JobState state);
std::string_view to_string(ShardState state);
std::optional<Phase> phase_from(std::string_view text);

struct ShardEntry {
  std::uint64_t begin = 0;  // query indices [begin, end)
  std::uint64_t end = 0;
  std::uint64_t batch = 0;
  ShardState state = ShardState::queued;
  std::string worker;         // leased: who runs it; done: who finished it
  std::uint64_t attempt = 0;  // leases so far; the current one's number
  std::uint64_t leased_ms = 0;
  std::uint64_t results_version = 0;  // done: the version of its results file
  // Queued again after it was done because its results file was lost: its
  // queries are counted already, so its next completion counts nothing.
  bool redo = false;
  std::uint64_t queries() const { return end - begin; }
  bool operator==(const ShardEntry&) const = default;
};

// One finished epoch of a training job.
struct EpochEntry {
  std::uint64_t epoch = 0;  // 1-based
  double loss = 0;
  std::optional<double> accuracy;  // on the eval set or held-out split
  double images_per_s = 0;
  double seconds = 0;
  std::uint64_t checkpoint_version = 0;  // of TrainEntry::checkpoint after it
  bool operator==(const EpochEntry&) const = default;
};

// What a training job holds beyond the fields it shares with inference
// jobs (model: the starting model; data: the training set; batch: per
// rank). A training job is leased whole to a group of `workers` nodes (in
// rank order), which train epoch after epoch and record each one here with
// the checkpoint it wrote; a lease given back (a rank died, the phase
// changed) is taken up again from the last checkpoint.
struct TrainEntry {
  std::optional<DatasetRef> eval;
  std::uint64_t epochs = 1;
  std::string optimizer = "sgd";
  double lr = 0.01;
  double lr_decay = 1;
  // "exponential" (lr * lr_decay^(epoch - 1)) or "cosine" (from lr to 0
  // over the job's epochs, step by step); ml::LrSchedule.
  std::string schedule = "exponential";
  double weight_decay = 0;
  std::uint64_t workers = 1;
  std::uint64_t seed = 1;
  // Training-batch augmentation (ml::Augmentation): left-right mirroring,
  // and moves of up to augment_shift pixels.
  bool augment_flip = false;
  std::uint64_t augment_shift = 0;
  std::vector<EpochEntry> history;
  std::vector<std::string> group;  // the current lease, rank order; empty: none
  std::uint64_t attempt = 0;       // leases so far; the current one's number
  std::uint64_t leased_ms = 0;
  std::uint64_t tries = 0;          // leases since the last recorded epoch
  std::string checkpoint;           // "checkpoints/JOB"
  std::string model_out;            // "models/JOB"
  std::uint64_t model_version = 0;  // of model_out, once done
  std::uint64_t epochs_done() const { return history.size(); }
  bool operator==(const TrainEntry&) const = default;
};

struct JobEntry {
  std::string name;
  std::string kind = "infer";
  ModelRef model;
  DatasetRef data;
  std::uint64_t batch = 0;
  std::uint64_t share = 1;
  JobState state = JobState::queued;
  std::string reason;  // failed: why
  std::uint64_t submitted_ms = 0;
  std::uint64_t finished_ms = 0;
  std::map<std::uint64_t, ShardEntry> shards;
  std::uint64_t planned = 0;  // queries [0, planned) are cut into shards
  std::uint64_t done = 0;     // queries completed
  std::uint64_t labelled = 0;
  std::uint64_t correct = 0;
  double vtime = 0;  // fairness: queries leased / share, lifted on (re)start
  // Smoothed worker time per query (ns), from completions; 0 until one.
  std::uint64_t cost_ns = 0;
  std::string results;                // "results/JOB"
  std::uint64_t results_version = 0;  // done: of the merged results
  JobStats stats;
  TrainEntry train;  // kind "train" only

  bool is_train() const { return kind == "train"; }
  std::uint64_t total() const { return data.queries; }
  // Every query counted and every shard's results stored.
  bool all_done() const;
  // A shard it may lease now: a queued one, or queries left to cut.
  bool has_work() const;
  std::uint64_t in_flight() const;  // queries leased and not done
  bool operator==(const JobEntry&) const = default;
};

// The shard directory of a job's per-shard results: "results/JOB.shards/".
std::string shard_results_prefix(std::string_view job);
std::string shard_results_name(std::string_view job, std::uint64_t shard);

class JobTable final : public raft::StateMachine {
 public:
  using Jobs = std::map<std::string, JobEntry, std::less<>>;

  std::string apply(raft::Index index, std::string_view command) override;
  std::string snapshot() const override;
  // Throws std::invalid_argument on bytes that are not a snapshot (and
  // keeps the state it had).
  void restore(std::string_view snapshot) override;
  // `{"q":"rates","now_ms":T}`, `{"q":"stats"[,"job":J]}`,
  // `{"q":"job","job":J}`, `{"q":"workers"}`: the JSON the commands show
  // (see jobs_json.hpp); an unknown query gets `{"ok":false,...}`.
  std::string query(std::string_view query) const override;

  // The command's effect as a value (apply() is this, serialized).
  boost::json::object execute(const boost::json::value& command);

  Phase phase() const { return phase_; }
  const Jobs& jobs() const { return jobs_; }
  const JobEntry* job(std::string_view name) const;
  // The newest `at_ms` any command carried.
  std::uint64_t time_ms() const { return time_ms_; }

  bool operator==(const JobTable& other) const {
    return phase_ == other.phase_ && jobs_ == other.jobs_ && time_ms_ == other.time_ms_;
  }

 private:
  boost::json::object add(const boost::json::object& command);
  boost::json::object remove(const boost::json::object& command);
  boost::json::object set_batch(const boost::json::object& command);
  boost::json::object set_phase(const boost::json::object& command);
  boost::json::object lease(const boost::json::object& command);
  boost::json::object complete(const boost::json::object& command);
  boost::json::object release(const boost::json::object& command);
  boost::json::object finish(const boost::json::object& command);
  boost::json::object redo(const boost::json::object& command);
  boost::json::object train_lease(const boost::json::object& command);
  boost::json::object epoch(const boost::json::object& command);
  // Puts `job` in running state, lifted to the running jobs' least vtime.
  void start(JobEntry& job);
  // Running infer jobs pause or resume with the phase.
  void follow_phase();
  // Gives a leased shard back to the queue.
  void requeue(JobEntry& job, ShardEntry& shard);

  Phase phase_ = Phase::stopped;
  Jobs jobs_;
  std::uint64_t time_ms_ = 0;
};

// Commands, as the coordinator service proposes them.
// A done shard whose results file cannot be read any more (every replica
// lost) is queued again; its re-run writes the same bytes.
boost::json::object redo_shard_command(std::string_view job, std::uint64_t shard, std::uint64_t at_ms);
boost::json::object add_job_command(const JobEntry& job, std::uint64_t at_ms);
boost::json::object remove_job_command(std::string_view job);
boost::json::object set_batch_command(std::string_view job, std::uint64_t batch);
boost::json::object phase_command(Phase phase, std::uint64_t at_ms);
// Re-leases queued shard `shard`, or (when it is the job's next id and
// not yet cut) cuts [begin, end) in `batch` and leases it.
boost::json::object lease_command(std::string_view job, std::uint64_t shard, std::uint64_t begin, std::uint64_t end,
                                  std::uint64_t batch, std::string_view worker, std::uint64_t at_ms);
boost::json::object complete_command(const ShardOutcome& outcome);
// Every shard leased to `worker` (all jobs), or only `job`'s `shard` at
// `attempt` when given (a lease that timed out or whose start failed).
boost::json::object release_command(std::string_view worker, std::uint64_t at_ms);
boost::json::object release_shard_command(std::string_view job, std::uint64_t shard, std::uint64_t attempt,
                                          std::uint64_t at_ms);
// The merged results were written (done), or the job cannot go on.
boost::json::object finish_command(std::string_view job, std::uint64_t results_version, std::uint64_t at_ms);
boost::json::object fail_command(std::string_view job, std::string_view reason, std::uint64_t at_ms);
// Training: the whole job leased to `group` (rank order); an epoch the
// group finished (with `model_version` of models/JOB after the last one);
// the group's lease at `attempt` given back.
boost::json::object train_lease_command(std::string_view job, const std::vector<std::string>& group,
                                        std::uint64_t at_ms);
boost::json::object epoch_command(std::string_view job, std::uint64_t attempt, const EpochEntry& epoch,
                                  std::uint64_t model_version, std::uint64_t at_ms);
boost::json::object release_train_command(std::string_view job, std::uint64_t attempt, std::uint64_t at_ms);

}  // namespace idunno::ml::jobs
