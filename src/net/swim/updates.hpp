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
  // Starts a probe of the member unless one is running; false when this
  // node cannot probe (it is leaving).
  using ProbeHook = std::function<bool(core::TimePoint, const MemberId&)>;

  explicit MembershipUpdates(SwimContext& ctx) : ctx_(ctx) {}

  // Used when this node hears of a new suspicion from someone else and
  // decides to check the suspect itself (Lifeguard confirmations, buddy
  // system), and to verify a suspect before declaring it dead.
  void set_probe_hook(ProbeHook hook) { probe_ = std::move(hook); }

  void on_alive(core::TimePoint now, const AliveMsg& m);
  void on_suspect(core::TimePoint now, const SuspectMsg& m);
  void on_dead(core::TimePoint now, const DeadMsg& m);
  void on_left(core::TimePoint now, const LeftMsg& m);
  void apply(core::TimePoint now, const Message& m);

  // The outcome of our own probe of `id`, started at `started`. A failure
  // suspects an alive member, or verifies (and confirms) a running
  // suspicion; an ack during a suspicion withdraws our suspicion.
  void on_probe_result(core::TimePoint now, const MemberId& id, core::TimePoint started, bool acked);

  // Leaves the group (state left, announced) / comes back after a leave.
  void leave(core::TimePoint now);
  void rejoin(core::TimePoint now);

  std::size_t active_suspicions() const { return suspicions_.size(); }

 private:
  struct Active {
    Suspicion suspicion;
    core::TimerQueue::TimerId timer = 0;
    // A probe of ours that started after the suspicion did failed: the
    // suspect may be declared dead at the deadline. Otherwise the deadline
    // first runs one such probe (a last check that costs a live member its
    // life only if this node also cannot reach it).
    bool verified = false;
  };

  void refute(core::TimePoint now, std::uint32_t seen_incarnation, std::uint32_t accuser_tag);
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
  ProbeHook probe_;
  std::map<MemberId, Active> suspicions_;
};

}  // namespace idunno::swim
