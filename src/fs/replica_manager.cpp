#include "fs/replica_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <utility>

#include "core/logging.hpp"
#include "core/task_group.hpp"

namespace idunno::fs {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

RepairRound RepairPlanner::plan(const Namespace& ns, const std::set<std::string>& live, Clock::time_point now) {
  RepairRound round;
  std::erase_if(held_back_, [&](const auto& held) { return held.second <= now; });
  std::erase_if(avoided_, [&](const auto& held) { return held.second <= now; });
  RepairAvoid avoid;
  for (const auto& [copy, until] : avoided_) avoid.insert(copy);

  // plan_repairs lists the same tasks again until they are done, so ask for
  // enough to see past the ones running or held back.
  const auto wanted = policy_.max_parallel + in_flight_.size() + held_back_.size();
  for (auto& task : plan_repairs(ns, live, policy_.replicas, wanted, avoid)) {
    if (in_flight_.size() >= policy_.max_parallel) break;
    const auto copy = copy_of(task);
    if (in_flight_.contains(copy) || held_back_.contains(attempt_of(task))) continue;
    in_flight_.insert(copy);
    round.start.push_back(std::move(task));
  }

  round.forget = dead_replicas(ns, live, policy_.replicas);

  std::set<std::pair<std::string, std::uint64_t>> pending;
  for (auto& version : ns.pending()) {
    auto id = std::make_pair(version.name, version.entry.version);
    const auto since = pending_since_.try_emplace(id, now).first->second;
    pending.insert(std::move(id));
    if (now - since >= policy_.pending_timeout) round.abandon.push_back(std::move(version));
  }
  std::erase_if(pending_since_, [&](const auto& seen) { return !pending.contains(seen.first); });
  return round;
}

void RepairPlanner::finished(const RepairTask& task, bool ok, Clock::time_point now) {
  in_flight_.erase(copy_of(task));
  if (!ok) {
    held_back_[attempt_of(task)] = now + policy_.retry_after;
    avoided_[copy_of(task)] = now + policy_.retry_after;
  }
}

void RepairPlanner::reset() {
  in_flight_.clear();
  held_back_.clear();
  avoided_.clear();
  pending_since_.clear();
}

ReplicaManager::ReplicaManager(boost::asio::any_io_executor executor, const Namespace& ns, ReplicaPolicy policy,
                               ReplicaPorts ports)
    : ns_(ns), ports_(std::move(ports)), planner_(policy), changed_(executor), tasks_(executor, "sdfs-replicas") {}

ReplicaManager::~ReplicaManager() = default;

void ReplicaManager::start() { tasks_.spawn(loop(), "sdfs replica loop"); }

boost::asio::awaitable<void> ReplicaManager::stop() {
  leading_ = false;
  tasks_.close();
  co_await tasks_.shutdown(std::chrono::milliseconds(500));
}

void ReplicaManager::set_leading(bool leading) {
  if (leading == leading_) return;
  leading_ = leading;
  ++generation_;
  planner_.reset();
  if (leading) spdlog::info("event=sdfs_repair_active replicas={}", planner_.policy().replicas);
  wake();
}

void ReplicaManager::set_live(std::set<std::string> live) {
  if (live == live_) return;
  live_ = std::move(live);
  wake();
}

void ReplicaManager::applied(std::string_view command, std::string_view result) {
  if (!leading_) return;
  const auto parsed = parse_sdfs_command(command);
  if (!parsed) return;
  SdfsResult outcome;
  try {
    outcome = decode_sdfs_result(result);
  } catch (const raft::DecodeError&) {
    return;
  }
  if (!outcome.ok()) return;
  if (!outcome.removed.empty()) {
    tasks_.spawn(run_drops(command_name(*parsed), std::move(outcome.removed)), "sdfs drop");
  }
  // A commit on fewer than `replicas` nodes, or a copy lost: plan again.
  if (parsed->has_commit() || parsed->has_remove_replica()) wake();
}

boost::asio::awaitable<void> ReplicaManager::loop() {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  for (;;) {
    if (!dirty_) {
      // Wake on a change or at the next tick, whichever comes first.
      timer.expires_after(planner_.policy().tick);
      timer.async_wait([this](const boost::system::error_code& error) {
        if (!error) wake();
      });
      co_await changed_.wait();
      timer.cancel();
    }
    // A change while the round runs sets dirty_ again: the next round
    // starts at once and reads the state afresh.
    dirty_ = false;
    if (leading_) co_await round();
  }
}

boost::asio::awaitable<void> ReplicaManager::round() {
  const auto generation = generation_;
  auto decided = planner_.plan(ns_, live_, RepairPlanner::Clock::now());
  for (auto& task : decided.start) {
    spdlog::info("event=sdfs_repair_start name={} version={} source={} target={}", core::log_quote(task.name),
                 task.version, task.source, task.target);
    tasks_.spawn(run_copy(std::move(task), generation), "sdfs copy");
  }
  for (const auto& dead : decided.forget) {
    if (generation != generation_) co_return;
    const auto removed = co_await ports_.submit(sdfs_remove_replica(dead.name, dead.version, dead.node));
    if (removed && removed->ok()) {
      ++stats_.forgotten;
      spdlog::info("event=sdfs_forget_replica name={} version={} node={}", core::log_quote(dead.name), dead.version,
                   dead.node);
    }
  }
  for (const auto& stale : decided.abandon) {
    if (generation != generation_) co_return;
    const auto aborted_put = co_await ports_.submit(sdfs_abort(stale.name, stale.entry.version));
    if (aborted_put && aborted_put->ok()) {
      ++stats_.abandoned;
      spdlog::info("event=sdfs_abandon_pending name={} version={}", core::log_quote(stale.name), stale.entry.version);
    }
  }
}

boost::asio::awaitable<void> ReplicaManager::run_copy(RepairTask task, std::uint64_t generation) {
  const auto started = std::chrono::steady_clock::now();
  bool ok = false;
  std::string error = "the version is no longer committed";
  const auto entry = ns_.version(task.name, task.version);
  if (entry && entry->committed()) {
    try {
      error = co_await ports_.copy(task, *entry);
    } catch (const boost::system::system_error& failure) {
      if (core::is_cancellation(failure)) throw;
      error = failure.what();
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    if (error.empty()) {
      const auto added = co_await ports_.submit(sdfs_add_replica(task.name, task.version, task.target));
      if (added && added->ok()) {
        ok = true;
      } else if (added && added->status == SdfsStatus::not_found) {
        // Deleted or pruned while it was copied: the copy is garbage.
        error = "deleted during the copy";
        std::vector<std::uint64_t> versions{task.version};
        co_await drop_quietly(task.target, task.name, std::move(versions));
      } else if (added) {
        error = "AddReplica failed: " + added->error;
      } else {
        error = "AddReplica has no known outcome";
      }
    }
    if (ok) {
      ++stats_.copies_ok;
      stats_.copy_bytes += entry->size;
      stats_.copy_seconds += seconds_since(started);
      spdlog::info("event=sdfs_repair_done name={} version={} source={} target={} bytes={} seconds={:.3f}",
                   core::log_quote(task.name), task.version, task.source, task.target, entry->size,
                   seconds_since(started));
    } else {
      ++stats_.copies_failed;
      spdlog::warn("event=sdfs_repair_failed name={} version={} source={} target={} error={}",
                   core::log_quote(task.name), task.version, task.source, task.target, core::log_quote(error));
    }
  }
  if (generation == generation_) {
    planner_.finished(task, ok, RepairPlanner::Clock::now());
    wake();
  }
}

boost::asio::awaitable<void> ReplicaManager::run_drops(std::string name, std::vector<RemovedVersion> removed) {
  std::map<std::string, std::vector<std::uint64_t>> by_node;
  for (const auto& version : removed) {
    for (const auto& node : version.replicas) by_node[node].push_back(version.version);
  }
  for (auto& [node, versions] : by_node) {
    // A node that is down drops them when it restarts (reconcile).
    if (!live_.contains(node)) continue;
    co_await drop_quietly(node, name, std::move(versions));
  }
}

boost::asio::awaitable<void> ReplicaManager::drop_quietly(std::string node, std::string name,
                                                          std::vector<std::uint64_t> versions) {
  ++stats_.drops;
  std::string error;
  try {
    co_await ports_.drop(node, name, std::move(versions));
  } catch (const boost::system::system_error& failure) {
    if (core::is_cancellation(failure)) throw;
    error = failure.what();
  } catch (const std::exception& failure) {
    error = failure.what();
  }
  if (!error.empty()) {
    spdlog::warn("event=sdfs_drop_failed name={} node={} error={}", core::log_quote(name), node,
                 core::log_quote(error));
  }
}

}  // namespace idunno::fs
