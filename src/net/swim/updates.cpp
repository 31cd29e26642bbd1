#include "net/swim/updates.hpp"

#include <algorithm>

namespace idunno::swim {

void MembershipUpdates::apply(core::TimePoint now, const Message& m) {
  if (auto* a = std::get_if<AliveMsg>(&m)) on_alive(now, *a);
  else if (auto* s = std::get_if<SuspectMsg>(&m)) on_suspect(now, *s);
  else if (auto* d = std::get_if<DeadMsg>(&m)) on_dead(now, *d);
  else if (auto* l = std::get_if<LeftMsg>(&m)) on_left(now, *l);
}

bool MembershipUpdates::superseded(const MemberId& id) {
  for (Member* newer : {ctx_.table.newest_with_name(id.name), ctx_.table.newest_at(id.addr)}) {
    if (newer && newer->id.start_ms > id.start_ms) return true;
  }
  return false;
}

void MembershipUpdates::retire_predecessors(core::TimePoint now, const MemberId& id) {
  for (Member* other : ctx_.table.same_name_or_addr(id.name, id.addr)) {
    if (other->id == id || other->id == ctx_.self_id || !is_active(other->state)) continue;
    if (other->id.start_ms < id.start_ms) mark_dead(now, *other, other->incarnation);
  }
}

void MembershipUpdates::mark_dead(core::TimePoint now, Member& m, std::uint32_t incarnation) {
  cancel_suspicion(m.id);
  m.incarnation = incarnation;
  ctx_.table.set_state(m, MemberState::dead, now);
  ++ctx_.metrics.deaths;
  ctx_.broadcast(m.id, DeadMsg{m.id, incarnation, ctx_.self_tag()});
  ctx_.emit(EventKind::dead, m, now);
}

void MembershipUpdates::on_alive(core::TimePoint now, const AliveMsg& msg) {
  if (msg.id == ctx_.self_id) return;  // only we speak for ourselves
  Member* m = ctx_.table.find(msg.id);
  if (m && msg.incarnation <= m->incarnation) return;  // the common case: nothing new
  if (msg.id.name == ctx_.self_id.name || msg.id.addr == ctx_.self_id.addr) return;
  if (superseded(msg.id)) return;
  if (!m) {
    Member& added = ctx_.table.insert(Member{msg.id, MemberState::alive, msg.incarnation, now}, ctx_.rng);
    ctx_.broadcast(msg.id, msg);
    ctx_.emit(EventKind::joined, added, now);
    retire_predecessors(now, msg.id);
    return;
  }
  const MemberState before = m->state;
  cancel_suspicion(m->id);
  m->incarnation = msg.incarnation;
  if (before != MemberState::alive) ctx_.table.set_state(*m, MemberState::alive, now);
  ctx_.broadcast(msg.id, msg);
  if (before == MemberState::suspect) ctx_.emit(EventKind::alive, *m, now);
  if (before == MemberState::dead || before == MemberState::left) ctx_.emit(EventKind::joined, *m, now);
}

void MembershipUpdates::on_suspect(core::TimePoint now, const SuspectMsg& msg) {
  if (msg.id == ctx_.self_id) {
    if (!ctx_.leaving && msg.incarnation >= ctx_.self().incarnation) refute(now, msg.incarnation, msg.from_tag);
    return;
  }
  Member* m = ctx_.table.find(msg.id);
  if (!m || !is_active(m->state) || msg.incarnation < m->incarnation) return;
  if (m->state == MemberState::suspect && msg.incarnation == m->incarnation) {
    auto it = suspicions_.find(m->id);
    if (it != suspicions_.end() && it->second.suspicion.confirm(msg.from_tag)) {
      ++ctx_.metrics.confirmations;
      reschedule(m->id, it->second, m->incarnation);
      // Pass the confirmation on: every member counts confirmations itself.
      ctx_.broadcast(m->id, msg);
    }
    return;
  }
  m->incarnation = msg.incarnation;
  start_suspicion(now, *m, msg.from_tag);
  ctx_.broadcast(m->id, msg);
  if (msg.from_tag != ctx_.self_tag() && probe_) {
    const double n = static_cast<double>(ctx_.group_size());
    const double p = std::min(1.0, static_cast<double>(ctx_.config.confirm_probers) / std::max(1.0, n - 2.0));
    if (std::uniform_real_distribution<double>(0.0, 1.0)(ctx_.rng) < p) probe_(now, m->id);
  }
}

void MembershipUpdates::on_probe_result(core::TimePoint now, const MemberId& id, core::TimePoint started, bool acked) {
  Member* m = ctx_.table.find(id);
  if (!m || !is_active(m->state)) return;
  auto it = suspicions_.find(id);
  const bool during = it != suspicions_.end() && started >= it->second.suspicion.start();
  if (acked) {
    if (m->state == MemberState::suspect && during) {
      // It answered us after being suspected: it will refute with a higher
      // incarnation; until then we no longer suspect it ourselves.
      cancel_suspicion(id);
      ctx_.table.set_state(*m, MemberState::alive, now);
      ctx_.emit(EventKind::alive, *m, now);
    }
    return;
  }
  if (m->state == MemberState::alive || it == suspicions_.end()) {
    on_suspect(now, SuspectMsg{id, m->incarnation, ctx_.self_tag()});
    return;
  }
  Active& active = it->second;
  if (during) active.verified = true;
  if (active.suspicion.confirm(ctx_.self_tag())) {
    ++ctx_.metrics.confirmations;
    ctx_.broadcast(id, SuspectMsg{id, m->incarnation, ctx_.self_tag()});
  }
  reschedule(id, active, m->incarnation);
}

void MembershipUpdates::on_dead(core::TimePoint now, const DeadMsg& msg) {
  if (msg.id == ctx_.self_id) {
    if (!ctx_.leaving && msg.incarnation >= ctx_.self().incarnation) refute(now, msg.incarnation, msg.from_tag);
    return;
  }
  Member* m = ctx_.table.find(msg.id);
  if (!m || !is_active(m->state) || msg.incarnation < m->incarnation) return;
  mark_dead(now, *m, msg.incarnation);
}

void MembershipUpdates::on_left(core::TimePoint now, const LeftMsg& msg) {
  if (msg.id == ctx_.self_id) {
    if (!ctx_.leaving && msg.incarnation >= ctx_.self().incarnation) refute(now, msg.incarnation, 0);
    return;
  }
  Member* m = ctx_.table.find(msg.id);
  if (!m || m->state == MemberState::left || msg.incarnation < m->incarnation) return;
  // A member that left may be declared dead by peers that missed the
  // announcement; the leave is the better account at the same incarnation.
  if (m->state == MemberState::dead && msg.incarnation == m->incarnation) {
    ctx_.table.set_state(*m, MemberState::left, now);
    ctx_.broadcast(m->id, msg);
    ctx_.emit(EventKind::left, *m, now);
    return;
  }
  if (!is_active(m->state)) return;
  cancel_suspicion(m->id);
  m->incarnation = msg.incarnation;
  ctx_.table.set_state(*m, MemberState::left, now);
  ctx_.broadcast(m->id, msg);
  ctx_.emit(EventKind::left, *m, now);
}

void MembershipUpdates::refute(core::TimePoint now, std::uint32_t seen_incarnation, std::uint32_t accuser_tag) {
  Member& me = ctx_.self();
  me.incarnation = std::max(me.incarnation, seen_incarnation) + 1;
  ++ctx_.metrics.refutations;
  ctx_.awareness.apply(1);
  const AliveMsg alive{me.id, me.incarnation};
  ctx_.broadcast(me.id, alive);
  // The accuser's own suspicion runs first and longest: tell it directly
  // instead of hoping gossip reaches it.
  if (const Member* accuser = ctx_.table.find_by_tag(accuser_tag);
      accuser && accuser->id != me.id && is_active(accuser->state)) {
    ctx_.send(now, accuser->id.addr, {alive}, false);
  }
  ctx_.emit(EventKind::alive, me, now);
}

void MembershipUpdates::start_suspicion(core::TimePoint now, Member& m, std::uint32_t from) {
  cancel_suspicion(m.id);
  ctx_.table.set_state(m, MemberState::suspect, now);
  ++ctx_.metrics.suspicions;
  const std::size_t n = ctx_.group_size();
  // Who could confirm: members we see alive (self included; the suspect
  // no longer is) except the first accuser. Other suspects cannot, so when
  // several members fail together fewer confirmations are waited for.
  const int could_confirm = static_cast<int>(ctx_.table.alive_count()) - 1;
  const int expected = std::clamp(could_confirm, 0, ctx_.config.suspicion_confirmations);
  Active active{Suspicion(from, expected, ctx_.config.suspicion_min(n), ctx_.config.suspicion_max(n), now)};
  auto [it, inserted] = suspicions_.emplace(m.id, std::move(active));
  reschedule(m.id, it->second, m.incarnation);
  ctx_.emit(EventKind::suspect, m, now);
}

void MembershipUpdates::reschedule(const MemberId& id, Active& active, std::uint32_t incarnation) {
  if (active.timer) ctx_.timers.cancel(active.timer);
  active.timer = ctx_.timers.schedule(std::max(active.suspicion.deadline(), ctx_.input_time),
                                      [this, id, incarnation] { on_suspicion_timeout(ctx_.input_time, id, incarnation); });
}

void MembershipUpdates::cancel_suspicion(const MemberId& id) {
  auto it = suspicions_.find(id);
  if (it == suspicions_.end()) return;
  ctx_.timers.cancel(it->second.timer);
  suspicions_.erase(it);
}

void MembershipUpdates::on_suspicion_timeout(core::TimePoint now, const MemberId& id, std::uint32_t incarnation) {
  auto it = suspicions_.find(id);
  if (it == suspicions_.end()) return;
  it->second.timer = 0;
  Member* m = ctx_.table.find(id);
  if (!m || m->state != MemberState::suspect || m->incarnation != incarnation) {
    suspicions_.erase(it);
    return;
  }
  // Unverified: probe once more; the result comes back through
  // on_probe_result, which re-arms this timer.
  if (!it->second.verified && probe_ && probe_(now, id)) return;
  mark_dead(now, *m, incarnation);
}

void MembershipUpdates::leave(core::TimePoint now) {
  ctx_.leaving = true;
  Member& me = ctx_.self();
  ctx_.table.set_state(me, MemberState::left, now);
  ctx_.broadcast(me.id, LeftMsg{me.id, me.incarnation});
}

void MembershipUpdates::rejoin(core::TimePoint now) {
  if (!ctx_.leaving) return;
  ctx_.leaving = false;
  Member& me = ctx_.self();
  ++me.incarnation;
  ctx_.table.set_state(me, MemberState::alive, now);
  ctx_.broadcast(me.id, AliveMsg{me.id, me.incarnation});
}

}  // namespace idunno::swim
