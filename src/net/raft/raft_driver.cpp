// RaftDriver: construction, the flush/timer machinery, events and shutdown.

#include "net/raft/raft_driver.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <random>

#include "core/raft/codec.hpp"
#include "core/raft/node.hpp"

namespace idunno::net {

namespace {
// A wait on the disk or the loop this long is logged: it is a third of the
// shortest election timeout by default, the order of stall that ends in an
// election.
constexpr std::chrono::milliseconds kSlowWait{50};
}  // namespace

namespace asio = boost::asio;

std::string_view to_string(NodeRole role) {
  switch (role) {
    case NodeRole::coordinator: return "coordinator";
    case NodeRole::standby: return "standby";
    case NodeRole::worker: return "worker";
  }
  return "worker";
}

NotLeader::NotLeader(std::optional<LeaderInfo> leader, bool outcome_unknown)
    : std::runtime_error(std::string(outcome_unknown ? "leadership was lost; the command may or may not have run"
                                                     : "this node is not the coordinator") +
                         (leader ? "; the coordinator is " + leader->name + " at " + leader->address.to_string()
                                 : "; no coordinator is known yet, retry shortly")),
      leader_(std::move(leader)),
      outcome_unknown_(outcome_unknown) {}

CommandTooLarge::CommandTooLarge(std::size_t size, std::size_t limit)
    : std::runtime_error("the command is " + std::to_string(size) + " bytes; the coordinator takes at most " +
                         std::to_string(limit) + " bytes per command: split it") {}

SessionExpired::SessionExpired()
    : std::runtime_error(
          "this node's coordinator session had expired, so the command was not run; retry it (a new session opens)") {}

RaftDriverOptions RaftDriverOptions::from_config(const core::Config& config) {
  RaftDriverOptions o;
  o.name = config.node_name();
  o.advertise = config.advertise_address();
  o.data_dir = config.node.data_dir;
  o.raft = raft::RaftConfig::from(config);
  return o;
}

RaftDriver::RaftDriver(asio::any_io_executor executor, RpcServer& server, RpcClient& client,
                       raft::Router& router, RaftDriverOptions options)
    : executor_(executor),
      client_(client),
      router_(router),
      options_(std::move(options)),
      file_(options_.disk ? *options_.disk : core::posix_disk(), options_.data_dir / "raft"),
      storage_(file_, disk_, executor),
      tasks_(executor, "raft"),
      timer_(executor),
      alive_(std::make_shared<bool>(true)) {
  if (file_.dropped_tail_bytes() > 0) {
    spdlog::warn("event=raft_torn_tail_dropped bytes={} dir={}", file_.dropped_tail_bytes(),
                 file_.directory().string());
  }
  if (!options_.on_fatal) {
    options_.on_fatal = [](const std::string& what) {
      spdlog::critical("event=raft_fatal error=\"{}\"", what);
      spdlog::shutdown();
      std::abort();
    };
  }
  core_ = std::make_unique<raft::RaftNode>(options_.name, options_.raft, storage_, router_, clock_,
                                           std::random_device{}());
  core_->defer_snapshots(true);
  // The disk thread gives way to the loop: serializing and writing a large
  // snapshot there must not delay the loop's timers when CPUs are scarce.
  disk_.async_run([] { ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10); },
                  asio::bind_executor(executor_, [](std::exception_ptr) {}));
  register_methods(server);
}

RaftDriver::~RaftDriver() { *alive_ = false; }

void RaftDriver::start() {
  if (started_) return;
  started_ = true;
  started_at_ = members_changed_at_ = std::chrono::steady_clock::now();
  spdlog::info("event=raft_started node={} term={} last_index={} voters={}", options_.name, core_->term(),
               core_->last_index(), core_->configuration().voters.size());
  if (options_.bootstrap == BootstrapMode::if_empty) {
    raft::Configuration config;
    config.voters.emplace(options_.name, options_.advertise.to_string());
    if (core_->bootstrap(config)) spdlog::info("event=raft_bootstrap node={}", options_.name);
  }
  tasks_.spawn(timer_loop(), "raft timer");
  tasks_.spawn(maintenance_loop(), "raft maintenance");
  schedule_flush();
}

asio::awaitable<void> RaftDriver::stop(std::chrono::milliseconds handover) {
  if (stopping_ || !started_) co_return;
  if (core_->role() == raft::Role::leader && handover.count() > 0 && core_->transfer_leadership()) {
    schedule_flush();
    handover_wait_ = std::make_shared<asio::steady_timer>(executor_, handover);
    auto wait = handover_wait_;
    co_await wait->async_wait(asio::as_tuple(asio::use_awaitable));
    handover_wait_.reset();
    spdlog::info("event=raft_handover node={} leader={}", options_.name, core_->leader().value_or("-"));
  }
  stopping_ = true;
  timer_.cancel();
  for (auto& waiter : std::exchange(leader_waiters_, {})) waiter->cancel();
  fail_pending(true);
  fail_reads();
  if (registering_) registering_->cancel();
  co_await tasks_.shutdown(std::chrono::milliseconds(500));
}

void RaftDriver::on_leadership_change(std::function<void(bool, std::uint64_t)> observer) {
  leadership_observers_.push_back(std::move(observer));
}

void RaftDriver::on_leader_ready(std::function<void(std::uint64_t)> observer) {
  leader_ready_observers_.push_back(std::move(observer));
}

void RaftDriver::on_applied(std::function<void(const AppliedCommand&)> observer) {
  applied_observers_.push_back(std::move(observer));
}

void RaftDriver::on_peer_heard(std::function<void(const std::string&, const core::HostPort&)> observer) {
  peer_heard_observer_ = std::move(observer);
}

void RaftDriver::schedule_flush() {
  if (flush_posted_ || stopping_) return;
  flush_posted_ = true;
  asio::post(executor_, [this, alive = alive_] {
    if (!*alive) return;
    flush_posted_ = false;
    flush_now();
  });
}

void RaftDriver::flush_now() {
  if (stopping_) return;
  raft::Ready ready;
  try {
    ready = core_->flush();
  } catch (const std::exception& e) {
    fail(std::string("cannot persist Raft state: ") + e.what());
    return;
  }
  rearm_timer();
  if (auto due = core_->take_snapshot_due()) tasks_.spawn(take_snapshot(std::move(*due)), "raft snapshot");
  // Outputs wait for an fsync that starts after they were produced: their
  // own writes, or those of earlier held outputs they build on. A leader's
  // own messages are the exception: they carry its log, which followers may
  // store before the leader's copy is durable, and a commit index that
  // counts the leader only up to what is already synced (the core's
  // sync_mark/log_synced). So a slow fsync on the leader never holds back
  // its heartbeats, which would depose it.
  if (storage_.take_owed() || syncing_) {
    if (core_->role() == raft::Role::leader) send(take_leader_messages(ready.messages));
    held_.push_back(std::move(ready));
    if (!syncing_) {
      syncing_ = true;
      tasks_.spawn(sync_loop(), "raft sync");
    }
    return;
  }
  release(std::move(ready));
}

asio::awaitable<void> RaftDriver::sync_loop() {
  while (!held_.empty() && !stopping_) {
    auto batch = std::exchange(held_, {});
    const auto began = std::chrono::steady_clock::now();
    // Every write queued so far is covered by the sync queued next.
    const auto mark = core_->sync_mark();
    try {
      auto work = storage_.run([](raft::FileStorage& file) { file.sync(); });
      co_await std::move(work);
    } catch (const std::exception& e) {
      syncing_ = false;
      fail(std::string("cannot persist Raft state: ") + e.what());
      co_return;
    }
    // Every output of the batch (heartbeats included) waited for this
    // fsync: one longer than the election timeout starves the followers.
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
    if (waited >= kSlowWait) {
      spdlog::warn("event=raft_slow_sync node={} ms={} held_batches={} role={}", options_.name, waited.count(),
                   batch.size(), to_string(role()));
    }
    for (auto& ready : batch) {
      if (stopping_) break;
      release(std::move(ready));
    }
    if (stopping_) break;
    // The leader's own copy now counts: it may commit more.
    core_->log_synced(mark);
    if (core_->has_ready()) schedule_flush();
  }
  syncing_ = false;
}

std::vector<raft::Message> RaftDriver::take_leader_messages(std::vector<raft::Message>& messages) {
  std::vector<raft::Message> leader;
  std::vector<raft::Message> rest;
  for (auto& m : messages) {
    const bool from_leader = std::holds_alternative<raft::AppendRequest>(m.payload) ||
                             std::holds_alternative<raft::SnapshotRequest>(m.payload) ||
                             std::holds_alternative<raft::TimeoutNow>(m.payload);
    (from_leader ? leader : rest).push_back(std::move(m));
  }
  messages = std::move(rest);
  return leader;
}

asio::awaitable<void> RaftDriver::take_snapshot(raft::RaftNode::SnapshotDue due) {
  std::shared_ptr<const raft::Snapshot> snapshot;
  try {
    // Queued behind every write the core made before it was due, so the
    // entries compaction keeps are on disk.
    auto job = [machine = &router_, due](raft::FileStorage& file) {
      auto made = std::make_shared<raft::Snapshot>();
      made->meta = due.meta;
      made->data = machine->snapshot();
      file.save_snapshot(*made);
      if (due.compact_upto > 0) file.compact(due.compact_upto, due.compact_term);
      return std::shared_ptr<const raft::Snapshot>(std::move(made));
    };
    auto work = storage_.run(std::move(job));
    auto taken = co_await std::move(work);
    snapshot = std::move(taken);
  } catch (const std::exception& e) {
    if (!stopping_) fail(std::string("cannot save the Raft snapshot: ") + e.what());
    co_return;
  }
  if (stopping_) co_return;
  core_->snapshot_taken(std::move(snapshot));
  schedule_flush();
}

void RaftDriver::release(raft::Ready ready) {
  send(std::move(ready.messages));
  notify_applied(ready.applied);
  resolve(ready.applied);
  resolve_reads(ready);
  for (const auto& event : ready.events) {
    log_event(event);
    switch (event.kind) {
      case raft::EventKind::election_started:
        ++counters_.elections_started;
        break;
      case raft::EventKind::election_won:
        ++counters_.elections_won;
        for (const auto& observer : leadership_observers_) observer(true, event.term);
        break;
      case raft::EventKind::leader_committing:
        // The core applies what it commits within the same flush: this
        // batch's state covers the whole history up to the entry.
        if (core_->role() == raft::Role::leader && core_->term() == event.term) {
          for (const auto& observer : leader_ready_observers_) observer(event.term);
        }
        break;
      case raft::EventKind::leader_changed:
        if (!event.node.empty()) {
          ++counters_.leader_changes;
          for (auto& waiter : std::exchange(leader_waiters_, {})) waiter->cancel();
          // A handover is done once a successor leads, not when this node
          // steps down: that happens on the successor's vote request, and
          // stopping then could withhold the vote it still needs.
          if (handover_wait_ && event.node != options_.name) handover_wait_->cancel();
        }
        break;
      case raft::EventKind::step_down:
        fail_pending(true);
        for (const auto& observer : leadership_observers_) observer(false, event.term);
        break;
      case raft::EventKind::snapshot_installed:
        fail_pending_upto(event.index);
        break;
      default:
        break;
    }
  }
}

void RaftDriver::observe_term(std::uint64_t term) {
  if (!started_ || stopping_ || term <= core_->term()) return;
  core_->observe_term(term);
  schedule_flush();
}

void RaftDriver::rearm_timer() {
  const auto deadline = core_->next_deadline();
  timer_.expires_at(std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline.time_since_epoch())));
}

asio::awaitable<void> RaftDriver::timer_loop() {
  rearm_timer();
  while (!stopping_) {
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    if (ec == asio::error::operation_aborted) {
      // Re-armed by a flush, or cancelled: a cancelled task stops.
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) break;
      continue;
    }
    const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                            timer_.expiry());
    if (late >= kSlowWait) spdlog::warn("event=raft_timer_late node={} ms={}", options_.name, late.count());
    core_->tick();
    flush_now();
  }
}

void RaftDriver::log_event(const raft::Event& e) {
  using raft::EventKind;
  const auto name = to_string(e.kind);
  switch (e.kind) {
    case EventKind::leader_changed:
      spdlog::info("event=leader_changed node={} term={} leader={}", options_.name, e.term,
                   e.node.empty() ? "-" : e.node);
      break;
    case EventKind::voter_added:
    case EventKind::voter_removed:
    case EventKind::learner_added:
    case EventKind::learner_removed:
      spdlog::info("event={} node={} term={} by={}", name, e.node, e.term, options_.name);
      break;
    case EventKind::leader_committing:
    case EventKind::snapshot_taken:
    case EventKind::snapshot_installed:
      spdlog::info("event={} node={} term={} index={}", name, options_.name, e.term, e.index);
      break;
    case EventKind::transfer_started:
      spdlog::info("event=transfer_started node={} term={} to={}", options_.name, e.term, e.node);
      break;
    default:
      spdlog::info("event={} node={} term={}{}{}", name, options_.name, e.term, e.reason.empty() ? "" : " reason=",
                   e.reason);
      break;
  }
}

void RaftDriver::fail(const std::string& what) {
  stopping_ = true;
  timer_.cancel();
  fail_pending(true);
  fail_reads();
  options_.on_fatal(what);
}

}  // namespace idunno::net
