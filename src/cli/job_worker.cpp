// JobService's worker side: the "jobs.run" RPC a coordinator leases shards
// and training runs through, running them, and reporting their completion
// (retried until a coordinator takes it).

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "cli/train_runner.hpp"
#include "core/failpoint.hpp"
#include "core/logging.hpp"
#include "core/wall_clock.hpp"
#include "ml/jobs/job_table_codec.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kReportTimeout = 10s;
constexpr auto kReportBackoff = 200ms;
constexpr auto kReportGiveUp = 10min;
// A shard that failed on this many leases fails its job.
constexpr std::uint64_t kMaxAttempts = 3;
// Tries of a shard on one worker before its lease goes back, and the wait
// between them (longer than failure detection, so a retried put places
// its copies on live nodes).
constexpr int kLocalTries = 3;
constexpr auto kLocalBackoff = 1500ms;

}  // namespace

std::shared_ptr<void> JobService::hold(ml::jobs::LeaseKey lease) {
  held_.insert(lease);
  return std::shared_ptr<void>(nullptr, [this, lease = std::move(lease)](void*) { held_.erase(lease); });
}

asio::awaitable<std::string> JobService::handle_run(std::string request) {
  ml::jobs::ShardTask task = ml::jobs::shard_task_from_json(json::parse(request));
  ml::jobs::LeaseKey lease{task.job, task.shard, task.attempt};
  if (held_.contains(lease)) co_return std::string("{}");  // a repeated start: it runs already
  std::shared_ptr<void> held = hold(std::move(lease));
  if (!running_->spawn(run_shard(std::move(task), std::move(held)), "shard")) {
    throw std::runtime_error("this node is stopping");
  }
  co_return std::string("{}");
}

asio::awaitable<std::string> JobService::handle_held() {
  json::array held;
  for (const auto& lease : held_) held.push_back(ml::jobs::to_json(lease));
  co_return json::serialize(json::object{{"held", std::move(held)}});
}

// `held` keeps the shard in held_ until its outcome is applied (or the
// report given up): until then a coordinator asking must not give it back.
asio::awaitable<void> JobService::run_shard(ml::jobs::ShardTask task, std::shared_ptr<void> /*held*/) {
  // A failure may be passing (an SDFS put that chose replicas which died
  // before membership said so), so the shard is tried again here a few
  // times before its lease goes back; a shard that failed on several
  // leases fails its job (its failure is the shard's own, e.g. a model
  // that does not load).
  std::string failure;
  ml::jobs::ShardOutcome outcome;
  asio::steady_timer backoff(executor_);
  for (int attempt = 0; attempt < kLocalTries; ++attempt) {
    if (attempt > 0) {
      backoff.expires_after(kLocalBackoff);
      co_await backoff.async_wait(asio::use_awaitable);
    }
    failure.clear();
    try {
      outcome = co_await runner_->run(task);
    } catch (const boost::system::system_error& error) {
      if (core::is_cancellation(error)) throw;
      failure = error.what();
    } catch (const std::exception& error) {
      failure = error.what();
    }
    if (failure.empty()) {
      co_await report(ml::jobs::complete_command(outcome));
      co_return;
    }
  }
  if (task.attempt >= kMaxAttempts) {
    co_await report(ml::jobs::fail_command(task.job, "shard " + std::to_string(task.shard) + ": " + failure,
                                           core::wall_clock_ms()));
  } else {
    co_await report(ml::jobs::release_shard_command(task.job, task.shard, task.attempt, core::wall_clock_ms()));
  }
}

asio::awaitable<void> JobService::report(json::object command) {
  // Through the log from here: it reaches whoever leads, however often
  // that changes; exactly once (the session deduplicates retries).
  const auto give_up = std::chrono::steady_clock::now() + kReportGiveUp;
  const std::string text = json::serialize(command);
  asio::steady_timer backoff(executor_);
  while (std::chrono::steady_clock::now() < give_up) {
    std::string failure;
    try {
      co_await coordinator_.raft().submit("jobs", text, kReportTimeout);
      co_return;  // applied (a refusal means the job or lease is gone)
    } catch (const boost::system::system_error& error) {
      if (core::is_cancellation(error)) throw;
      failure = error.what();
    } catch (const std::exception& error) {
      failure = error.what();
    }
    spdlog::debug("event=report_retry error={}", core::log_quote(failure));
    backoff.expires_after(kReportBackoff);
    co_await backoff.async_wait(asio::use_awaitable);
  }
  spdlog::warn("event=report_abandoned command={}", core::log_quote(text));
}

}  // namespace idunno::cli
