// RaftDriver: proposals. A proposal waits for its entry to apply on this
// node; the entry's term tells whether it is ours or a successor leader's
// replacement. Forwarded submissions retry through elections, the same
// entry (session and sequence number) each time.

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/timeout.hpp"
#include "core/raft/codec.hpp"
#include "core/raft/routed_entry.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/raft/raft_wire.pb.h"
#include "net/rpc.hpp"

namespace idunno::net {

namespace asio = boost::asio;

// One proposal waiting for its entry to apply; the timer doubles as the
// wake-up signal (cancelled when the outcome is known).
struct RaftDriver::PendingProposal {
  PendingProposal(asio::any_io_executor executor, raft::Term term_in) : term(term_in), timer(executor) {}
  raft::Term term;
  asio::steady_timer timer;
  bool done = false;
  std::string result;
  std::exception_ptr error;

  void finish(std::string value) {
    done = true;
    result = std::move(value);
    timer.cancel();
  }
  void finish(std::exception_ptr e) {
    done = true;
    error = std::move(e);
    timer.cancel();
  }
};

void RaftDriver::check_size(std::size_t size) const {
  // The routed envelope adds a few dozen bytes; the core checks the entry.
  if (size > options_.raft.max_entry_bytes) throw CommandTooLarge(size, options_.raft.max_entry_bytes);
}

asio::awaitable<std::string> RaftDriver::propose(std::string machine, std::string command) {
  check_size(command.size());
  const std::string result = co_await propose_entry(raft::routed_command(machine, command));
  const auto routed = raft::decode_route_result(result);
  if (routed.status == raft::RouteStatus::unknown_machine) {
    throw std::invalid_argument("no state machine named '" + machine + "'");
  }
  if (routed.status != raft::RouteStatus::ok) {
    throw std::runtime_error("the command was refused: " + std::string(raft::to_string(routed.status)));
  }
  co_return routed.payload;
}

asio::awaitable<std::string> RaftDriver::propose_entry(std::string entry) {
  if (stopping_) throw NotLeader(leader(), false);
  if (raft::is_routed(entry)) {
    // The leader's time in the entry is what expires sessions everywhere.
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    entry = raft::stamp_time(entry, static_cast<std::uint64_t>(now.count()));
  }
  const auto size = entry.size();
  const auto proposal = core_->propose(std::move(entry));
  if (proposal.too_large) throw CommandTooLarge(size, options_.raft.max_entry_bytes);
  if (!proposal.accepted) throw NotLeader(info_of(proposal.leader_hint), false);
  auto pending = std::make_shared<PendingProposal>(executor_, proposal.term);
  pending_[proposal.index] = pending;
  schedule_flush();
  pending->timer.expires_after(options_.propose_timeout);
  auto [ec] = co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!pending->done) {
    if (auto it = pending_.find(proposal.index); it != pending_.end() && it->second == pending) pending_.erase(it);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    throw core::TimeoutError();
  }
  if (pending->error) std::rethrow_exception(pending->error);
  co_return std::move(pending->result);
}

void RaftDriver::notify_applied(const std::vector<raft::Applied>& applied) {
  if (applied_observers_.empty()) return;
  for (const auto& a : applied) {
    if (!raft::is_routed(a.command)) {
      const AppliedCommand seen{router_.legacy_machine(), a.index, a.command, a.result};
      for (const auto& observer : applied_observers_) observer(seen);
      continue;
    }
    try {
      const auto entry = raft::decode_routed(a.command);
      const auto result = raft::decode_route_result(a.result);
      // Duplicates, refusals and session entries changed no machine.
      if (entry.kind != raft::RoutedKind::command || result.status != raft::RouteStatus::ok) continue;
      const AppliedCommand seen{entry.machine, a.index, entry.payload, result.payload};
      for (const auto& observer : applied_observers_) observer(seen);
    } catch (const raft::DecodeError&) {
      continue;  // a bad entry ran nowhere: nothing to observe
    }
  }
}

void RaftDriver::resolve(const std::vector<raft::Applied>& applied) {
  for (const auto& a : applied) {
    auto it = pending_.find(a.index);
    if (it == pending_.end()) continue;
    if (it->second->term == a.term) {
      it->second->finish(a.result);
    } else {
      // A later leader put another entry at this index: ours never ran.
      it->second->finish(std::make_exception_ptr(NotLeader(leader(), false)));
    }
    pending_.erase(it);
  }
}

void RaftDriver::fail_pending_upto(raft::Index index) {
  // Entries a snapshot install covered were never applied one by one here.
  while (!pending_.empty() && pending_.begin()->first <= index) {
    pending_.begin()->second->finish(std::make_exception_ptr(NotLeader(leader(), true)));
    pending_.erase(pending_.begin());
  }
}

void RaftDriver::fail_pending(bool outcome_unknown) {
  auto pending = std::exchange(pending_, {});
  for (auto& [index, p] : pending) p->finish(std::make_exception_ptr(NotLeader(leader(), outcome_unknown)));
}

asio::awaitable<void> RaftDriver::wait_for_leader(std::chrono::milliseconds limit) {
  auto timer = std::make_shared<asio::steady_timer>(executor_, limit);
  leader_waiters_.push_back(timer);
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(leader_waiters_, timer);
}

std::optional<LeaderInfo> RaftDriver::leader_hint(const std::string& name, const std::string& address) {
  auto parsed = core::parse_host_port(address);
  if (!parsed || name.empty()) return std::nullopt;
  return LeaderInfo{name, *parsed, 0};
}

asio::awaitable<std::string> RaftDriver::on_leader(std::chrono::steady_clock::time_point deadline, Here here,
                                                   Forward forward, const char* failed_event) {
  using std::chrono::steady_clock;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
  };
  std::optional<LeaderInfo> hint;
  while (left().count() > 0 && !stopping_) {
    if (core_->role() == raft::Role::leader) {
      try {
        auto attempt = here();
        co_return co_await core::with_timeout(std::move(attempt), left());
      } catch (const NotLeader& e) {
        hint = e.leader();
      } catch (const core::TimeoutError&) {
        break;
      }
    } else if (auto target = hint ? hint : leader(); target && target->name != options_.name) {
      hint.reset();
      try {
        auto attempt = forward(*target, left());
        Forwarded answer = co_await std::move(attempt);
        if (answer.result) co_return std::move(*answer.result);
        hint = std::move(answer.hint);
      } catch (const RpcError& e) {
        spdlog::debug("event={} leader={} error=\"{}\"", failed_event, target->name, e.what());
        if (discovered_leader_ && discovered_leader_->name == target->name) discovered_leader_.reset();
      }
    }
    if (hint) continue;
    // A node outside the configuration hears of no election: it asks.
    if (!core_->configuration().is_member(options_.name)) co_await discover(false);
    // News of a leader (leader_changed) ends the wait at once; the cap
    // bounds it when the known leader is unreachable or not yet replaced.
    co_await wait_for_leader(std::clamp(left(), std::chrono::milliseconds(0), std::chrono::milliseconds(50)));
  }
  throw core::TimeoutError();
}

asio::awaitable<RaftDriver::Forwarded> RaftDriver::forward_entry(LeaderInfo target, std::string entry,
                                                                 std::chrono::milliseconds left) {
  raftwire::ProposeRequest request;
  request.set_command(entry);
  auto reply = co_await call_typed<raftwire::ProposeReply>(client_, target.address, "raft.propose", request, left,
                                                           core_->term());
  if (reply.ok()) co_return Forwarded{std::move(*reply.mutable_result()), std::nullopt};
  if (reply.too_large()) throw CommandTooLarge(entry.size(), options_.raft.max_entry_bytes);
  co_return Forwarded{std::nullopt, leader_hint(reply.leader_name(), reply.leader_address())};
}

asio::awaitable<std::string> RaftDriver::submit_entry(std::string entry,
                                                      std::chrono::steady_clock::time_point deadline) {
  // A coroutine (not a plain call) so that `entry` lives as long as the
  // callbacks that refer to it.
  co_return co_await on_leader(
      deadline, [this, &entry] { return propose_entry(entry); },
      [this, &entry](const LeaderInfo& target, std::chrono::milliseconds left) {
        return forward_entry(target, entry, left);
      },
      "raft_forward_failed");
}

}  // namespace idunno::net
