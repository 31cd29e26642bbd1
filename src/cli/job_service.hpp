#pragma once
// Inference and training jobs as a node service: the commands (sub, train,
// remove, set-batch, phase, job-rates, get-stats, get-results, vm-states),
// the scheduling loop on the coordinator, and the worker side that runs
// leased shards and training ranks.
//
// Why: the job table (ml/jobs/job_table.hpp) is replicated on the
// coordinator's log as "jobs" (the composition root owns it), so any node
// answers the read commands by ReadIndex and submits the write commands
// exactly once. The coordinator, and only while it leads, turns the
// table into work: it leases shards to live workers as the fair-time
// scheduler decides (ml/jobs/scheduler.hpp), releases the leases of workers
// that died, gives back leases that outlived their time, and merges a
// finished job's shard results into `results/JOB`. Every such decision goes
// through the log first, so a new coordinator continues from its own copy.
// A worker runs a shard on its engine (shard_runner.hpp), writes the
// shard's result lines to SDFS and reports completion through the log from
// wherever it is: the report reaches whoever leads by then, so workers keep
// going through a coordinator change.
//
// A lease the coordinator committed is worked on only if its start
// reached the worker. A coordinator can die between the two, and a worker
// can restart (same name, nothing running) before membership notices; so
// the coordinator asks each worker with leases what it holds ("jobs.held"),
// at once when it becomes ready to lead and every 2 s after, and gives back
// the leases nobody holds (ml::jobs::orphaned_leases). Starts and the
// question are fenced by the coordinator's term, so once a worker has
// answered a new coordinator, a deposed one's late start is refused there
// and the answer stays true.
//
// Logs (for `grep`): the coordinator logs event=job_received,
// task_scheduled, task_completed and job_completed with job=, shard= and
// node=; the worker logs task_started and task_finished.
//
// Event loop only. Everything passed to the constructor outlives it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/coordinator_service.hpp"
#include "cli/executor_service.hpp"
#include "cli/membership_service.hpp"
#include "cli/sdfs_service.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/task_group.hpp"
#include "ml/jobs/job_table.hpp"
#include "ml/jobs/scheduler.hpp"

namespace idunno::cli {

class ShardRunner;
class TrainRunner;

// The port rank 0 of a training group serves its rendezvous on, for a
// node whose cluster port is `cluster_port`: 10000 above it (below, for
// ports over 55000), plus the attempt modulo 10.
std::uint16_t training_rendezvous_port(std::uint16_t cluster_port, std::uint64_t attempt);

class JobService final : public Service {
 public:
  JobService(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
             MembershipService& membership, CoordinatorService& coordinator, const ml::jobs::JobTable& table,
             SdfsService& sdfs, ExecutorService& executor_service, CommandDispatcher& dispatcher,
             core::MetricsRegistry& metrics);
  ~JobService() override;

  std::string_view name() const override { return "jobs"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

 private:
  // Commands (job_service.cpp).
  boost::asio::awaitable<boost::json::value> sub(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> train(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> remove(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> set_batch(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> phase(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> job_rates(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> get_stats(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> get_results(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> vm_states(std::vector<std::string> args);
  // Per-job figures, written by the coordinator only (every voter holds
  // the table; one writer keeps sums over nodes right).
  void write_metrics(core::MetricsWriter& w) const;
  // The job table's answer to `query` (linearizable); throws CommandError
  // with its error.
  boost::asio::awaitable<boost::json::object> read(boost::json::object query);
  // Submits `command` through the log from this node; throws CommandError
  // with the table's refusal.
  boost::asio::awaitable<boost::json::object> submit(boost::json::object command);
  // The dataset a `sub` names, pinned to its current versions (uploading a
  // local path first).
  boost::asio::awaitable<ml::jobs::DatasetRef> resolve_dataset(std::string data);
  // The plain copy of gzip'd SDFS file `source`, which inflates to `size`
  // bytes: the newest version of ".idunno/inflated/NAME@vV" when it has that
  // size, or one made now (fetched to DATA_DIR/inflate, inflated there on
  // the I/O pool, stored, the local files removed). Throws CommandError
  // naming `what`.
  boost::asio::awaitable<fs::NamedVersion> inflated(fs::NamedVersion source, std::uint64_t size, std::string what);
  boost::asio::awaitable<ml::jobs::ModelRef> resolve_model(std::string model, ml::jobs::DatasetRef data);
  // Coordinator: removes the inflated copies whose source version is gone
  // and that no job that has not ended reads (inflated_copies.hpp).
  boost::asio::awaitable<void> sweep_inflated();
  // Sweeps when SDFS commands applied while leading (at most once a second).
  boost::asio::awaitable<void> inflated_sweep_loop();

  // Coordinator side (job_scheduling.cpp).
  void kick();
  boost::asio::awaitable<void> schedule_loop();
  boost::asio::awaitable<void> schedule_round();
  boost::asio::awaitable<std::optional<boost::json::object>> propose(boost::json::object command);
  // Until the returned token is dropped, the lease of (job, shard) (shard
  // 0 for training) is being proposed or started by this coordinator:
  // a worker that does not hold it yet has not been asked to.
  std::shared_ptr<void> mark_starting(const std::string& job, std::uint64_t shard);
  boost::asio::awaitable<void> start_shard(ml::jobs::ShardTask task, std::string worker,
                                           std::shared_ptr<void> starting);
  struct WorkerCall {
    std::string failure;  // why the call failed; "" when it succeeded
    std::string reply;
  };
  // Calls `method` on live member `worker` with `request`, fenced by this
  // coordinator's term. A worker whose call failed is passed over for a
  // while (workers()).
  boost::asio::awaitable<WorkerCall> call_worker(std::string worker, std::string method, std::string request);
  // Asks every live worker with leases what it holds, every kReconcileEvery
  // and at once when this node becomes ready to lead.
  boost::asio::awaitable<void> reconcile_loop();
  // Gives back the leases of `worker` it does not hold.
  boost::asio::awaitable<void> reconcile_worker(std::string worker);
  // A finished job's results merged into results/JOB, then its shard
  // files removed (job_results.cpp).
  boost::asio::awaitable<void> merge(std::string job);
  boost::asio::awaitable<void> remove_shard_results(std::string job);
  void log_applied(std::string_view command, std::string_view result);
  std::vector<std::string> workers() const;
  // Live members that can work: all but the coordinator (any node).
  std::size_t workers_count() const;
  // Training jobs (job_training.cpp): leases a group to every running
  // training job that has none, and starts its ranks.
  boost::asio::awaitable<void> schedule_training(std::vector<std::string> live);
  boost::asio::awaitable<void> start_training(ml::jobs::TrainTask task, std::string worker,
                                              std::shared_ptr<void> starting);

  // Worker side (job_worker.cpp; training runs in job_training.cpp).
  boost::asio::awaitable<std::string> handle_run(std::string request);
  boost::asio::awaitable<std::string> handle_held();
  // Until the returned token is dropped, `lease` is in held_.
  std::shared_ptr<void> hold(ml::jobs::LeaseKey lease);
  boost::asio::awaitable<void> run_shard(ml::jobs::ShardTask task, std::shared_ptr<void> held);
  boost::asio::awaitable<void> report(boost::json::object command);
  boost::asio::awaitable<std::string> handle_train(std::string request);
  boost::asio::awaitable<void> run_training(ml::jobs::TrainTask task, std::shared_ptr<void> held);
  // Returns once the table no longer holds `attempt` as `job`'s current
  // lease (superseded, paused, removed, ended).
  boost::asio::awaitable<void> watch_lease(std::string job, std::uint64_t attempt);
  // True when a linearizable read of the job table says `job` does not
  // exist (false when it exists or the read failed).
  boost::asio::awaitable<bool> job_removed(std::string job);
  boost::asio::awaitable<void> report_epoch(std::string job, std::uint64_t attempt, ml::jobs::EpochEntry epoch,
                                            std::uint64_t model_version);

  boost::asio::any_io_executor executor_;
  const core::Config& config_;
  std::string self_;
  TransportService& transport_;
  MembershipService& membership_;
  CoordinatorService& coordinator_;
  const ml::jobs::JobTable& table_;
  SdfsService& sdfs_;
  ExecutorService& executor_service_;
  ml::jobs::SchedulerPolicy policy_;
  std::unique_ptr<ShardRunner> runner_;
  std::unique_ptr<TrainRunner> trainer_;
  std::filesystem::path scratch_;  // DATA_DIR/inflate (inflated())
  std::uint64_t scratch_files_ = 0;

  bool leading_ = false;
  std::uint64_t leader_term_ = 0;  // the term this node leads in (while leading_)
  bool kicked_ = false;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer reconcile_wake_;
  bool sweep_due_ = false;  // an SDFS command applied since the last sweep
  boost::asio::steady_timer sweep_wake_;
  // Leases this coordinator is proposing or starting, (job, shard) with
  // their counts (mark_starting).
  std::map<std::pair<std::string, std::uint64_t>, int> starting_;
  std::set<std::string> reconciling_;  // workers being asked what they hold
  // Worker side: the leases this node holds (runs, or is reporting).
  std::set<ml::jobs::LeaseKey> held_;
  std::set<std::string> merging_;  // jobs whose results are being merged
  // Workers whose "jobs.run" failed get no lease until then (a node that
  // died and is not yet declared dead would otherwise take lease after
  // lease).
  std::map<std::string, std::chrono::steady_clock::time_point> unreachable_until_;
  std::unique_ptr<core::TaskGroup> loop_;     // the scheduling loop
  std::unique_ptr<core::TaskGroup> starts_;   // "jobs.run" calls to workers, merges
  std::unique_ptr<core::TaskGroup> running_;  // this node's shards
};

}  // namespace idunno::cli
