// JobService's coordinator side: the scheduling loop (leases, releases,
// the workers' "jobs.run" calls) and the reconciliation of what workers
// hold. The merge of a finished job's results is job_results.cpp, the
// worker side job_worker.cpp.

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "cli/train_runner.hpp"
#include "core/failpoint.hpp"
#include "core/logging.hpp"
#include "core/wall_clock.hpp"
#include "core/task_group.hpp"
#include "ml/jobs/job_table_codec.hpp"
#include "net/swim/swim_driver.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kTick = 1s;
constexpr auto kRunTimeout = 5s;
// A worker whose "jobs.run" failed is passed over this long (about the
// time membership takes to declare a crashed node dead).
constexpr auto kUnreachableFor = 2s;
// How often the coordinator asks workers with leases what they hold.
constexpr auto kReconcileEvery = 2s;

}  // namespace

JobService::JobService(asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                       MembershipService& membership, CoordinatorService& coordinator, const ml::jobs::JobTable& table,
                       SdfsService& sdfs, ExecutorService& executor_service, CommandDispatcher& dispatcher,
                       core::MetricsRegistry& metrics)
    : executor_(executor),
      config_(config),
      self_(config.node_name()),
      transport_(transport),
      membership_(membership),
      coordinator_(coordinator),
      table_(table),
      sdfs_(sdfs),
      executor_service_(executor_service),
      wake_(executor),
      reconcile_wake_(executor),
      sweep_wake_(executor),
      loop_(std::make_unique<core::TaskGroup>(executor, "jobs-loop")),
      starts_(std::make_unique<core::TaskGroup>(executor, "jobs-starts")),
      running_(std::make_unique<core::TaskGroup>(executor, "jobs-shards")) {
  // Scratch files of inflated() (a crash may leave some).
  scratch_ = config.node.data_dir / "inflate";
  std::filesystem::remove_all(scratch_);
  std::filesystem::create_directories(scratch_);
  metrics.add([this](core::MetricsWriter& w) { write_metrics(w); });
  dispatcher.bind("sub", [this](std::vector<std::string> args) { return sub(std::move(args)); });
  dispatcher.bind("train", [this](std::vector<std::string> args) { return train(std::move(args)); });
  dispatcher.bind("remove", [this](std::vector<std::string> args) { return remove(std::move(args)); });
  dispatcher.bind("set-batch", [this](std::vector<std::string> args) { return set_batch(std::move(args)); });
  dispatcher.bind("phase", [this](std::vector<std::string> args) { return phase(std::move(args)); });
  dispatcher.bind("job-rates", [this](std::vector<std::string> args) { return job_rates(std::move(args)); });
  dispatcher.bind("get-stats", [this](std::vector<std::string> args) { return get_stats(std::move(args)); });
  dispatcher.bind("get-results", [this](std::vector<std::string> args) { return get_results(std::move(args)); });
  dispatcher.bind("vm-states", [this](std::vector<std::string> args) { return vm_states(std::move(args)); });
  // Coordinator commands, fenced by its term (net/fencing.hpp).
  net::TermFence& fence = transport_.fence();
  net::RpcServer& server = transport_.rpc_server();
  server.handle("jobs.run", fence.guard([this](const net::RpcContext& /*context*/, std::string request) {
    return handle_run(std::move(request));
  }));
  server.handle("jobs.train", fence.guard([this](const net::RpcContext& /*context*/, std::string request) {
    return handle_train(std::move(request));
  }));
  server.handle("jobs.held", fence.guard([this](const net::RpcContext& /*context*/, std::string /*request*/) {
    return handle_held();
  }));
  net::RaftDriver& raft = coordinator_.raft();
  raft.on_leader_ready([this](std::uint64_t term) {
    leading_ = true;
    leader_term_ = term;
    kick();
    reconcile_wake_.cancel();  // ask the workers what they hold, now
    sweep_due_ = true;         // what the last coordinator may have left
    sweep_wake_.cancel();
  });
  raft.on_leadership_change([this](bool leader, std::uint64_t /*term*/) {
    if (!leader) leading_ = false;
  });
  raft.on_applied([this](const net::AppliedCommand& applied) {
    if (applied.machine == "sdfs" && leading_) {
      sweep_due_ = true;  // a delete or a pruned version may leave inflated copies behind
      sweep_wake_.cancel();
    }
    if (applied.machine != "jobs") return;
    if (leading_) log_applied(applied.command, applied.result);
    kick();
  });
  membership_.subscribe([this](const swim::MemberEvent& /*event*/) { kick(); });
}

JobService::~JobService() = default;

void JobService::start() {
  ShardRunnerOptions options;
  options.engine_problem = [this] { return executor_service_.problem(); };
  options.decode_pool = &sdfs_.io_pool();
  runner_ = std::make_unique<ShardRunner>(executor_service_.engine(), sdfs_runner_ports(sdfs_.sdfs()), self_,
                                          std::move(options));
  trainer_ = std::make_unique<TrainRunner>(*runner_, self_);
  loop_->spawn(schedule_loop(), "jobs schedule loop");
  loop_->spawn(reconcile_loop(), "jobs reconcile loop");
  loop_->spawn(inflated_sweep_loop(), "inflated copies sweep");
}

asio::awaitable<void> JobService::stop(StopDeadline /*deadline*/) {
  leading_ = false;
  loop_->close();
  starts_->close();
  running_->close();
  wake_.cancel();
  reconcile_wake_.cancel();
  sweep_wake_.cancel();
  co_await loop_->shutdown(200ms);
  co_await starts_->shutdown(200ms);
  co_await running_->shutdown(200ms);
}

void JobService::kick() {
  kicked_ = true;
  wake_.cancel();
}

std::vector<std::string> JobService::workers() const {
  std::vector<std::string> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& m : membership_.active_members()) {
    if (m.id.name == self_) continue;
    const auto it = unreachable_until_.find(m.id.name);
    if (it != unreachable_until_.end() && it->second > now) continue;
    out.push_back(m.id.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t JobService::workers_count() const {
  std::size_t out = 0;
  for (const auto& m : membership_.active_members()) {
    if (coordinator_.raft().role_of(m.id.name) != net::NodeRole::coordinator) ++out;
  }
  return out;
}

void JobService::log_applied(std::string_view command, std::string_view result) {
  try {
    const auto c = json::parse(command).as_object();
    const auto r = json::parse(result).as_object();
    if (!r.at("ok").as_bool()) return;
    const std::string_view op = c.at("op").as_string();
    if (op == "add") {
      const auto& job = c.at("job").as_object();
      spdlog::info("event=job_received job={} model={} data={} batch={} queries={}",
                   core::log_quote(std::string(job.at("name").as_string())),
                   core::log_quote(std::string(job.at("model").at("name").as_string())),
                   core::log_quote(std::string(job.at("data").at("images").as_string())),
                   job.at("batch").to_number<std::uint64_t>(), job.at("data").at("queries").to_number<std::uint64_t>());
    } else if (op == "lease") {
      spdlog::info("event=task_scheduled job={} shard={} node={} begin={} end={} attempt={}",
                   core::log_quote(std::string(c.at("job").as_string())), c.at("shard").to_number<std::uint64_t>(),
                   std::string(c.at("worker").as_string()), c.at("begin").to_number<std::uint64_t>(),
                   c.at("end").to_number<std::uint64_t>(), r.at("attempt").to_number<std::uint64_t>());
    } else if (op == "complete" && !r.contains("duplicate")) {
      const auto& o = c.at("outcome").as_object();
      spdlog::info("event=task_completed job={} shard={} node={} queries={}",
                   core::log_quote(std::string(o.at("job").as_string())), o.at("shard").to_number<std::uint64_t>(),
                   std::string(o.at("worker").as_string()), o.at("queries").to_number<std::uint64_t>());
    } else if (op == "release") {
      spdlog::info("event=tasks_released worker={} job={} shard={} released={}",
                   c.contains("worker") ? std::string(c.at("worker").as_string()) : std::string("-"),
                   c.contains("job") ? core::log_quote(std::string(c.at("job").as_string())) : std::string("-"),
                   c.contains("shard") ? std::to_string(c.at("shard").to_number<std::uint64_t>()) : std::string("-"),
                   r.at("released").to_number<std::uint64_t>());
    } else if (op == "train_lease") {
      std::string group;
      for (const auto& worker : c.at("group").as_array()) {
        group += (group.empty() ? "" : ",") + std::string(worker.as_string());
      }
      spdlog::info("event=train_scheduled job={} attempt={} epoch={} group={}",
                   core::log_quote(std::string(c.at("job").as_string())), r.at("attempt").to_number<std::uint64_t>(),
                   r.at("epoch").to_number<std::uint64_t>(), group);
    } else if (op == "epoch" && !r.contains("duplicate")) {
      const auto& e = c.at("record").as_object();
      spdlog::info("event=train_epoch_recorded job={} epoch={} loss={:.4f} accuracy={} images_per_s={:.1f}{}",
                   core::log_quote(std::string(c.at("job").as_string())), e.at("epoch").to_number<std::uint64_t>(),
                   e.at("loss").to_number<double>(),
                   e.at("accuracy").is_null() ? std::string("-") : std::to_string(e.at("accuracy").to_number<double>()),
                   e.at("images_per_s").to_number<double>(), r.contains("done") ? " job_done=true" : "");
    } else if (op == "finish" && !r.contains("duplicate")) {
      spdlog::info("event=job_completed job={} state={}", core::log_quote(std::string(c.at("job").as_string())),
                   c.contains("reason") ? "failed" : "done");
    }
  } catch (const std::exception& error) {
    spdlog::warn("event=job_log_failed error={}", core::log_quote(error.what()));
  }
}

asio::awaitable<void> JobService::schedule_loop() {
  for (;;) {
    if (leading_ && kicked_) {
      kicked_ = false;
      try {
        co_await schedule_round();
      } catch (const boost::system::system_error& error) {
        if (core::is_cancellation(error)) throw;
        spdlog::warn("event=schedule_failed error={}", core::log_quote(error.what()));
      } catch (const std::exception& error) {
        spdlog::warn("event=schedule_failed error={}", core::log_quote(error.what()));
      }
      continue;
    }
    wake_.expires_after(kTick);
    boost::system::error_code ignored;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (ignored != asio::error::operation_aborted) kicked_ = true;  // the tick: check lease times
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<std::optional<json::object>> JobService::propose(json::object command) {
  std::string failure;
  std::optional<json::object> out;
  try {
    const std::string reply = co_await coordinator_.raft().propose("jobs", json::serialize(command));
    out = json::parse(reply).as_object();
  } catch (const boost::system::system_error& error) {
    if (core::is_cancellation(error)) throw;
    failure = error.what();
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty()) spdlog::debug("event=jobs_propose_failed error={}", core::log_quote(failure));
  co_return out;
}

asio::awaitable<void> JobService::schedule_round() {
  const std::vector<std::string> live = workers();
  const std::set<std::string> live_set(live.begin(), live.end());
  // Leases held by nodes that are no longer live members go back.
  std::set<std::string> gone;
  for (const auto& [name, job] : table_.jobs()) {
    for (const auto& [id, shard] : job.shards) {
      if (shard.state == ml::jobs::ShardState::leased && !live_set.contains(shard.worker)) gone.insert(shard.worker);
    }
    for (const auto& worker : job.train.group) {
      if (!live_set.contains(worker)) gone.insert(worker);
    }
  }
  for (const auto& worker : gone) co_await propose(ml::jobs::release_command(worker, core::wall_clock_ms()));
  for (const auto& expired : ml::jobs::expired_leases(table_, core::wall_clock_ms(), policy_)) {
    const ml::jobs::JobEntry* job = table_.job(expired.job);
    if (job != nullptr && job->is_train()) {
      co_await propose(ml::jobs::release_train_command(expired.job, expired.attempt, core::wall_clock_ms()));
    } else {
      co_await propose(
          ml::jobs::release_shard_command(expired.job, expired.shard, expired.attempt, core::wall_clock_ms()));
    }
  }
  // Finished jobs: merge their shards' results once.
  for (const auto& [name, job] : table_.jobs()) {
    if (job.state == ml::jobs::JobState::running && job.all_done() && !merging_.contains(name)) {
      merging_.insert(name);
      starts_->spawn(merge(name), "merge " + name);
    }
  }
  if (!leading_) co_return;
  co_await schedule_training(live);
  if (!leading_) co_return;
  for (const auto& d : ml::jobs::plan_leases(table_, live, policy_)) {
    std::shared_ptr<void> starting = mark_starting(d.job, d.shard);
    const auto reply = co_await propose(
        ml::jobs::lease_command(d.job, d.shard, d.begin, d.end, d.batch, d.worker, core::wall_clock_ms()));
    if (!reply || !reply->at("ok").as_bool()) break;  // the table changed under us: plan again
    // A crash here leaves a committed lease that its worker never hears of.
    core::failpoint("jobs.after_lease");
    const ml::jobs::JobEntry* job = table_.job(d.job);
    if (job == nullptr) continue;
    ml::jobs::ShardTask task;
    task.job = d.job;
    task.shard = d.shard;
    task.attempt = reply->at("attempt").to_number<std::uint64_t>();
    task.model = job->model;
    task.data = job->data;
    task.begin = d.begin;
    task.end = d.end;
    task.batch = d.batch;
    task.results = ml::jobs::shard_results_name(d.job, d.shard);
    starts_->spawn(start_shard(std::move(task), d.worker, std::move(starting)), "start shard");
  }
}

std::shared_ptr<void> JobService::mark_starting(const std::string& job, std::uint64_t shard) {
  auto key = std::make_pair(job, shard);
  ++starting_[key];
  return std::shared_ptr<void>(nullptr, [this, key](void*) {
    const auto it = starting_.find(key);
    if (it != starting_.end() && --it->second == 0) starting_.erase(it);
  });
}

asio::awaitable<JobService::WorkerCall> JobService::call_worker(std::string worker, std::string method,
                                                                std::string request) {
  std::optional<core::HostPort> address;
  for (const auto& m : membership_.active_members()) {
    if (m.id.name == worker) address = m.id.addr;
  }
  std::string failure = "not a live member";
  std::string reply;
  if (address) {
    failure.clear();
    try {
      auto calling = transport_.rpc_client().call(*address, method, std::move(request), kRunTimeout, leader_term_);
      reply = co_await std::move(calling);
    } catch (const boost::system::system_error& error) {
      if (core::is_cancellation(error)) throw;
      failure = error.what();
    } catch (const std::exception& error) {
      failure = error.what();
    }
  }
  if (failure.empty()) {
    unreachable_until_.erase(worker);
  } else {
    unreachable_until_[worker] = std::chrono::steady_clock::now() + kUnreachableFor;
  }
  co_return WorkerCall{std::move(failure), std::move(reply)};
}

asio::awaitable<void> JobService::start_shard(ml::jobs::ShardTask task, std::string worker,
                                              std::shared_ptr<void> starting) {
  auto calling = call_worker(worker, "jobs.run", json::serialize(ml::jobs::to_json(task)));
  const std::string failure = (co_await std::move(calling)).failure;
  starting.reset();  // the worker holds it now, or its release follows
  if (failure.empty()) co_return;
  spdlog::warn("event=task_start_failed job={} shard={} node={} error={}", core::log_quote(task.job), task.shard,
               worker, core::log_quote(failure));
  if (leading_)
    co_await propose(ml::jobs::release_shard_command(task.job, task.shard, task.attempt, core::wall_clock_ms()));
}

asio::awaitable<void> JobService::reconcile_loop() {
  for (;;) {
    if (leading_) {
      std::set<std::string> live;
      for (const auto& m : membership_.active_members()) live.insert(m.id.name);
      std::set<std::string> holders;
      for (const auto& [name, job] : table_.jobs()) {
        for (const auto& [id, shard] : job.shards) {
          if (shard.state == ml::jobs::ShardState::leased) holders.insert(shard.worker);
        }
        holders.insert(job.train.group.begin(), job.train.group.end());
      }
      for (const auto& worker : holders) {
        // Dead workers' leases go back through membership (schedule_round).
        if (worker == self_ || !live.contains(worker) || reconciling_.contains(worker)) continue;
        reconciling_.insert(worker);
        starts_->spawn(reconcile_worker(worker), "reconcile " + worker);
      }
    }
    reconcile_wake_.expires_after(kReconcileEvery);
    boost::system::error_code ignored;
    co_await reconcile_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<void> JobService::reconcile_worker(std::string worker) {
  const std::shared_ptr<void> done(nullptr, [this, worker](void*) { reconciling_.erase(worker); });
  // Only leases this coordinator is not starting itself: the worker may
  // not have them yet. What it started has reached the worker before the
  // question is sent, so the answer includes it if it still runs.
  std::vector<ml::jobs::LeaseKey> asked;
  for (auto& lease : ml::jobs::leases_of(table_, worker)) {
    if (!starting_.contains({lease.job, lease.shard})) asked.push_back(std::move(lease));
  }
  if (asked.empty()) co_return;
  auto calling = call_worker(worker, "jobs.held", "{}");
  const WorkerCall call = co_await std::move(calling);
  if (!call.failure.empty() || !leading_) co_return;
  std::set<ml::jobs::LeaseKey> held;
  try {
    const json::value reply = json::parse(call.reply);
    for (const auto& lease : reply.at("held").as_array()) held.insert(ml::jobs::lease_key_from_json(lease));
  } catch (const std::exception& error) {
    spdlog::warn("event=held_reply_bad node={} error={}", worker, core::log_quote(error.what()));
    co_return;
  }
  for (const auto& lease : ml::jobs::orphaned_leases(table_, worker, asked, held)) {
    if (!leading_) co_return;
    spdlog::info("event=lease_orphaned job={} shard={} attempt={} node={}", core::log_quote(lease.job), lease.shard,
                 lease.attempt, worker);
    const ml::jobs::JobEntry* job = table_.job(lease.job);
    if (job != nullptr && job->is_train()) {
      co_await propose(ml::jobs::release_train_command(lease.job, lease.attempt, core::wall_clock_ms()));
    } else {
      co_await propose(ml::jobs::release_shard_command(lease.job, lease.shard, lease.attempt, core::wall_clock_ms()));
    }
  }
}

}  // namespace idunno::cli
