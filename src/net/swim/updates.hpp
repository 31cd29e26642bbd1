#pragma once
// Membership state transitions: applies alive/suspect/dead/left updates by
// the SWIM incarnation rules, runs the Lifeguard suspicion timers, refutes
// suspicions and deaths of this node, and retires members replaced by a
// restarted process.
//
// Why: every update, whether gossiped, piggybacked, found by our own probes
// or merged from a push-pull, must obey the same ordering (a higher
// incarnation wins; at equal incarnation dead/left > suspect > alive), so one
// class owns the rules. Owned by SwimCore; not thread-safe.

#include <functional>
#include <map>

#include "net/swim/suspicion.hpp"
#include "net/swim/swim_context.hpp"

namespace idunno::swim {

class MembershipUpdates {
 public:
  using ProbeHook = std::function<void(core::TimePoint, const MemberId&)>;

  explicit MembershipUpdates(SwimContext& ctx) : ctx_(ctx) {}

  // Called when this node hears of a new suspicion from someone else and
  // decides to check the suspect itself (Lifeguard confirmations, buddy
  // system).
  void set_confirm_probe(ProbeHook hook) { confirm_probe_ = std::move(hook); }

  void on_alive(core::TimePoint now, const AliveMsg& m);
  void on_suspect(core::TimePoint now, const SuspectMsg& m);
  void on_dead(core::TimePoint now, const DeadMsg& m);
  void on_left(core::TimePoint now, const LeftMsg& m);
  void apply(core::TimePoint now, const Message& m);

  // Our own probe of `id` failed.
  void suspect_locally(core::TimePoint now, const MemberId& id);

  // Leaves the group (state left, announced) / comes back after a leave.
  void leave(core::TimePoint now);
  void rejoin(core::TimePoint now);

  std::size_t active_suspicions() const { return suspicions_.size(); }

 private:
  struct Active {
    Suspicion suspicion;
    core::TimerQueue::TimerId timer;
  };

  void refute(core::TimePoint now, std::uint32_t seen_incarnation);
  void start_suspicion(core::TimePoint now, Member& m, std::uint32_t from);
  void reschedule(const MemberId& id, Active& active, std::uint32_t incarnation);
  void cancel_suspicion(const MemberId& id);
  void on_suspicion_timeout(core::TimePoint now, const MemberId& id, std::uint32_t incarnation);
  // True when a newer process with the same name or address is known.
  bool superseded(const MemberId& id);
  // Declares dead the older processes that `id` replaces.
  void retire_predecessors(core::TimePoint now, const MemberId& id);
  void mark_dead(core::TimePoint now, Member& m, std::uint32_t incarnation);

  SwimContext& ctx_;
  ProbeHook confirm_probe_;
  std::map<MemberId, Active> suspicions_;
};

}  // namespace idunno::swim
