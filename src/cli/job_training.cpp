// JobService's training side: on the coordinator, a group of live workers
// leased to every running training job that has none, and its ranks
// started; on a worker, one rank run until its epochs are done or its lease
// is no longer the job's current one.

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <set>

#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "cli/train_runner.hpp"
#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "core/wall_clock.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kWatchEvery = 250ms;
// While this node's copy of the table has not shown a rank's job, the log
// is asked whether the job still exists this often.
constexpr int kAskEveryPolls = 4;
constexpr auto kAskTimeout = 2s;
// A training job whose lease failed this many times in a row without an
// epoch recorded fails (its failure is its own: a model that does not
// train on the data, a dataset that does not load).
constexpr std::uint64_t kMaxTries = 5;

}  // namespace

std::uint16_t training_rendezvous_port(std::uint16_t cluster_port, std::uint64_t attempt) {
  // Beside the cluster port, moving with the attempt so that a rank of an
  // abandoned attempt still holding its store never meets the next one.
  const int base = cluster_port <= 55000 ? cluster_port + 10000 : cluster_port - 10000;
  return static_cast<std::uint16_t>(base + static_cast<int>(attempt % 10));
}

asio::awaitable<void> JobService::schedule_training(std::vector<std::string> live) {
  std::set<std::string> busy;
  for (const auto& [name, job] : table_.jobs()) busy.insert(job.train.group.begin(), job.train.group.end());
  std::map<std::string, core::HostPort> address;
  for (const auto& m : membership_.active_members()) address[m.id.name] = m.id.addr;
  for (const auto& [name, job] : table_.jobs()) {
    if (!leading_) co_return;
    if (!job.is_train() || job.state != ml::jobs::JobState::running || !job.train.group.empty()) continue;
    std::vector<std::string> group;
    for (const auto& worker : live) {
      if (group.size() < job.train.workers && !busy.contains(worker) && address.contains(worker)) {
        group.push_back(worker);
      }
    }
    if (group.size() < job.train.workers) continue;  // waits for workers
    const std::string job_name = name;
    std::shared_ptr<void> starting = mark_starting(job_name, 0);
    const auto reply = co_await propose(ml::jobs::train_lease_command(job_name, group, core::wall_clock_ms()));
    if (!reply || !reply->at("ok").as_bool()) co_return;  // the table changed: next round
    const ml::jobs::JobEntry* leased = table_.job(job_name);
    if (leased == nullptr) co_return;
    busy.insert(group.begin(), group.end());
    const ml::jobs::TrainEntry& t = leased->train;
    ml::jobs::TrainTask task;
    task.job = job_name;
    task.attempt = reply->at("attempt").to_number<std::uint64_t>();
    task.tries = reply->at("tries").to_number<std::uint64_t>();
    task.group = group;
    const core::HostPort& rank0 = address.at(group[0]);
    task.rendezvous_host = rank0.host;
    task.rendezvous_port = training_rendezvous_port(rank0.port, task.attempt);
    task.model = leased->model;
    task.checkpoint = t.checkpoint;
    task.checkpoint_version = t.history.empty() ? 0 : t.history.back().checkpoint_version;
    task.first_epoch = t.epochs_done() + 1;
    task.epochs = t.epochs;
    task.data = leased->data;
    task.eval = t.eval;
    task.batch = leased->batch;
    task.optimizer = t.optimizer;
    task.lr = t.lr;
    task.lr_decay = t.lr_decay;
    task.schedule = t.schedule;
    task.weight_decay = t.weight_decay;
    task.augment_flip = t.augment_flip;
    task.augment_shift = t.augment_shift;
    task.seed = t.seed;
    task.model_out = t.model_out;
    for (std::size_t rank = 0; rank < group.size(); ++rank) {
      ml::jobs::TrainTask mine = task;
      mine.rank = rank;
      mine.bind_host = address.at(group[rank]).host;
      mine.host_ranks = 0;
      for (const auto& other : group) mine.host_ranks += address.at(other).host == mine.bind_host ? 1 : 0;
      starts_->spawn(start_training(std::move(mine), group[rank], starting), "start training rank");
    }
  }
}

asio::awaitable<void> JobService::start_training(ml::jobs::TrainTask task, std::string worker,
                                                 std::shared_ptr<void> starting) {
  auto calling = call_worker(worker, "jobs.train", json::serialize(ml::jobs::to_json(task)));
  const std::string failure = (co_await std::move(calling)).failure;
  starting.reset();
  if (failure.empty()) co_return;
  spdlog::warn("event=train_start_failed job={} attempt={} rank={} node={} error={}", core::log_quote(task.job),
               task.attempt, task.rank, worker, core::log_quote(failure));
  if (leading_) co_await propose(ml::jobs::release_train_command(task.job, task.attempt, core::wall_clock_ms()));
}

asio::awaitable<std::string> JobService::handle_train(std::string request) {
  ml::jobs::TrainTask task = ml::jobs::train_task_from_json(json::parse(request));
  ml::jobs::LeaseKey lease{task.job, 0, task.attempt};
  if (held_.contains(lease)) co_return std::string("{}");  // a repeated start: it runs already
  std::shared_ptr<void> held = hold(std::move(lease));
  if (!running_->spawn(run_training(std::move(task), std::move(held)), "training rank")) {
    throw std::runtime_error("this node is stopping");
  }
  co_return std::string("{}");
}

asio::awaitable<void> JobService::watch_lease(std::string job, std::uint64_t attempt) {
  // The lease may reach this node's copy of the table after the start
  // call does: only a job seen with this lease, or with a later one, or
  // gone after it was seen, ends the watch. A job removed before this
  // node's copy showed it at all (its add, lease and removal can all land
  // between two polls) is never seen: then the log is asked.
  asio::steady_timer timer(executor_);
  bool seen = false;
  int unseen_polls = 0;
  for (;;) {
    const ml::jobs::JobEntry* entry = table_.job(job);
    if (entry == nullptr) {
      if (seen) co_return;
      if (++unseen_polls % kAskEveryPolls == 0) {
        auto asking = job_removed(job);
        if (co_await std::move(asking)) {
          spdlog::info("event=train_job_gone job={} attempt={} node={}", core::log_quote(job), attempt,
                       core::log_quote(self_));
          co_return;
        }
      }
    } else {
      const auto& t = entry->train;
      if (t.attempt > attempt) co_return;
      if (t.attempt == attempt) {
        seen = true;
        if (t.group.empty() || entry->state != ml::jobs::JobState::running) co_return;
      }
    }
    timer.expires_after(kWatchEvery);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<bool> JobService::job_removed(std::string job) {
  std::string reply;
  try {
    auto reading =
        coordinator_.raft().read("jobs", json::serialize(json::object{{"q", "job"}, {"job", job}}), kAskTimeout);
    reply = co_await std::move(reading);
  } catch (const boost::system::system_error& error) {
    if (core::is_cancellation(error)) throw;
    co_return false;  // no answer now: asked again later
  } catch (const std::exception& /*error*/) {
    co_return false;
  }
  const auto answer = json::parse(reply).as_object();
  co_return !answer.at("ok").as_bool() && answer.at("error").as_string().starts_with("no job named");
}

asio::awaitable<void> JobService::report_epoch(std::string job, std::uint64_t attempt, ml::jobs::EpochEntry epoch,
                                               std::uint64_t model_version) {
  co_await report(ml::jobs::epoch_command(job, attempt, epoch, model_version, core::wall_clock_ms()));
}

// `held` keeps the rank in held_ until it has ended and reported.
asio::awaitable<void> JobService::run_training(ml::jobs::TrainTask task, std::shared_ptr<void> /*held*/) {
  using namespace asio::experimental::awaitable_operators;
  std::string failure;
  const std::string job = task.job;
  const std::uint64_t attempt = task.attempt;
  const std::uint64_t tries = task.tries;
  TrainRunner::EpochReport reporter = [this, job, attempt](ml::jobs::EpochEntry epoch, std::uint64_t model_version) {
    return report_epoch(job, attempt, epoch, model_version);
  };
  try {
    const auto ended = co_await (trainer_->run(std::move(task), {}, std::move(reporter)) || watch_lease(job, attempt));
    if (ended.index() == 1) {
      spdlog::info("event=train_lease_ended job={} attempt={} node={}", core::log_quote(job), attempt,
                   core::log_quote(self_));
    } else {
      // Every epoch is done here, but the lease lives on until rank 0 has
      // stored the model and its last epoch is applied: this rank holds it
      // (held_) until then, or a coordinator asking meanwhile would give
      // the group's lease back and the last epoch would run again.
      auto watching = watch_lease(job, attempt);
      co_await std::move(watching);
    }
  } catch (const boost::system::system_error& error) {
    if (core::is_cancellation(error)) throw;
    failure = error.what();
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (failure.empty()) co_return;
  spdlog::warn("event=train_failed job={} attempt={} node={} error={}", core::log_quote(job), attempt,
               core::log_quote(self_), core::log_quote(failure));
  if (tries >= kMaxTries) {
    co_await report(ml::jobs::fail_command(job, failure, core::wall_clock_ms()));
  } else {
    co_await report(ml::jobs::release_train_command(job, attempt, core::wall_clock_ms()));
  }
}

}  // namespace idunno::cli
