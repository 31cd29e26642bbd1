#include "net/swim/prober.hpp"

namespace idunno::swim {

void Prober::start(core::TimePoint now) {
  stop();
  const auto interval = ctx_.config.probe_interval.count();
  const auto offset = std::uniform_int_distribution<core::Duration::rep>(0, interval)(ctx_.rng);
  period_timer_ = ctx_.timers.schedule(now + core::Duration(offset), [this] { period(); });
}

void Prober::stop() {
  if (period_timer_) ctx_.timers.cancel(period_timer_);
  period_timer_ = 0;
}

void Prober::period() {
  const core::TimePoint now = ctx_.input_time;
  if (auto target = ctx_.table.next_probe_target(ctx_.self_id, ctx_.rng)) start_probe(now, *target);
  // Scheduled after the probe, so that at equal times the probe's end is
  // handled before the next period starts.
  period_timer_ = ctx_.timers.schedule(now + ctx_.awareness.scale(ctx_.config.probe_interval), [this] { period(); });
}

std::vector<Message> Prober::ping_messages(std::uint32_t seq, const Member& target) const {
  std::vector<Message> messages{PingMsg{seq, target.id.tag()}};
  // Buddy system: a suspect learns of the suspicion from the pings it gets.
  if (target.state != MemberState::alive) messages.push_back(state_message(target, ctx_.self_tag()));
  return messages;
}

bool Prober::start_probe(core::TimePoint now, const MemberId& target_id) {
  const Member* target = ctx_.table.find(target_id);
  if (!target || !is_active(target->state)) return false;
  const std::uint32_t seq = ctx_.next_seq();
  Probe probe;
  probe.target = target_id;
  probe.started = now;
  probe.end = now + ctx_.awareness.scale(ctx_.config.probe_interval);
  ctx_.send(now, target->id.addr, ping_messages(seq, *target));
  ++ctx_.metrics.probes_sent;
  probe.timeout_timer = ctx_.timers.schedule(now + ctx_.awareness.scale(ctx_.config.probe_timeout),
                                             [this, seq] { on_probe_timeout(seq); });
  probe.end_timer = ctx_.timers.schedule(probe.end, [this, seq] { finish(seq, false); });
  probes_.emplace(seq, std::move(probe));
  return true;
}

bool Prober::probe_now(core::TimePoint now, const MemberId& target) {
  if (ctx_.leaving) return false;
  for (const auto& [seq, probe] : probes_) {
    if (probe.target == target) return true;
  }
  return start_probe(now, target);
}

void Prober::notify(core::TimePoint now, const Member& target, const Message& news) {
  ctx_.send(now, target.id.addr, {PingMsg{ctx_.next_seq(), target.id.tag()}, news});
}

void Prober::on_probe_timeout(std::uint32_t seq) {
  auto it = probes_.find(seq);
  if (it == probes_.end()) return;
  Probe& probe = it->second;
  probe.timeout_timer = 0;
  const core::TimePoint now = ctx_.input_time;
  const Member* target = ctx_.table.find(probe.target);
  if (!target || !is_active(target->state)) return;
  const MemberId self = ctx_.self_id;
  const MemberId target_id = probe.target;
  auto helpers = ctx_.table.random_members(static_cast<std::size_t>(ctx_.config.indirect_checks), ctx_.rng,
                                           [&self, &target_id](const Member& m) {
                                             return m.state == MemberState::alive && m.id != self && m.id != target_id;
                                           });
  std::vector<Message> request{PingReqMsg{seq, target->id.tag(), target->id.addr}};
  // A helper that knows the target is suspected tells it on its ping.
  if (target->state != MemberState::alive) request.push_back(state_message(*target, ctx_.self_tag()));
  for (Member* helper : helpers) {
    ctx_.send(now, helper->id.addr, request);
    ++ctx_.metrics.indirect_probes_sent;
  }
  probe.expected_nacks = static_cast<int>(helpers.size());
  if (ctx_.config.tcp_fallback && probe.end > now) {
    probe.fallback_stream =
        ctx_.request_stream(now, StreamKind::ping, target->id.addr, {PingMsg{seq, target->id.tag()}}, probe.end - now);
    fallback_seq_[probe.fallback_stream] = seq;
    ++ctx_.metrics.fallback_pings_sent;
  }
}

void Prober::finish(std::uint32_t seq, bool acked) {
  auto it = probes_.find(seq);
  if (it == probes_.end()) return;
  Probe probe = std::move(it->second);
  probes_.erase(it);
  if (probe.timeout_timer) ctx_.timers.cancel(probe.timeout_timer);
  ctx_.timers.cancel(probe.end_timer);
  if (probe.fallback_stream) fallback_seq_.erase(probe.fallback_stream);
  if (acked) {
    ++ctx_.metrics.acks_received;
    ctx_.awareness.apply(-1);
  } else {
    ++ctx_.metrics.probes_failed;
    // Lifeguard: when not even the helpers' nacks came back, the trouble is
    // likely our own link or load. Unlike memberlist we count a probe once,
    // not once per missing nack: helpers may be dead too (several members
    // crashed together), and that must not slow our own detection down.
    if (probe.nacks == 0) ctx_.awareness.apply(1);
  }
  updates_.on_probe_result(ctx_.input_time, probe.target, probe.started, acked);
}

void Prober::on_ping(core::TimePoint now, const core::HostPort& from, std::uint32_t sender_tag, const PingMsg& ping,
                     bool refute) {
  if (ping.target_tag != ctx_.self_tag()) {
    ctx_.metrics.drop(DropReason::wrong_target);
    return;
  }
  ++ctx_.metrics.pings_received;
  std::vector<Message> reply{AckMsg{ping.seq}};
  if (refute) reply.push_back(AliveMsg{ctx_.self_id, ctx_.self().incarnation});
  // A pinger we believe suspect or dead hears it at once and can refute.
  if (const Member* sender = ctx_.table.find_by_tag(sender_tag);
      sender && sender->id != ctx_.self_id && (sender->state == MemberState::suspect || sender->state == MemberState::dead)) {
    reply.push_back(state_message(*sender, ctx_.self_tag()));
  }
  ctx_.send(now, from, reply);
}

void Prober::on_ack(core::TimePoint now, const AckMsg& ack) {
  if (probes_.count(ack.seq)) {
    finish(ack.seq, true);
    return;
  }
  auto relay = relays_.find(ack.seq);
  if (relay == relays_.end()) return;  // late or duplicate
  ctx_.timers.cancel(relay->second.timer);
  ctx_.send(now, relay->second.origin, {AckMsg{relay->second.origin_seq}});
  relays_.erase(relay);
}

void Prober::on_nack(const NackMsg& nack) {
  auto it = probes_.find(nack.seq);
  if (it == probes_.end()) return;
  ++it->second.nacks;
  ++ctx_.metrics.nacks_received;
}

void Prober::on_ping_req(core::TimePoint now, const core::HostPort& from, const PingReqMsg& req) {
  const std::uint32_t seq = ctx_.next_seq();
  std::vector<Message> ping{PingMsg{seq, req.target_tag}};
  if (const Member* target = ctx_.table.find_by_tag(req.target_tag); target && target->state == MemberState::suspect) {
    ping.push_back(state_message(*target, ctx_.self_tag()));
  }
  ctx_.send(now, req.target, ping);
  Relay relay{from, req.seq, 0};
  relay.timer = ctx_.timers.schedule(now + ctx_.config.probe_timeout, [this, seq] {
    auto it = relays_.find(seq);
    if (it == relays_.end()) return;
    ctx_.send(ctx_.input_time, it->second.origin, {NackMsg{it->second.origin_seq}});
    relays_.erase(it);
  });
  relays_.emplace(seq, std::move(relay));
}

bool Prober::on_fallback_result(std::uint64_t stream_id, bool acked) {
  auto it = fallback_seq_.find(stream_id);
  if (it == fallback_seq_.end()) return false;
  const std::uint32_t seq = it->second;
  fallback_seq_.erase(it);
  if (acked) {
    ++ctx_.metrics.fallback_acks;
    finish(seq, true);
  }
  return true;
}

std::optional<std::vector<Message>> Prober::answer_stream_ping(const PingMsg& ping) {
  if (ping.target_tag != ctx_.self_tag()) {
    ctx_.metrics.drop(DropReason::wrong_target);
    return std::nullopt;
  }
  ++ctx_.metrics.pings_received;
  return std::vector<Message>{AckMsg{ping.seq}};
}

}  // namespace idunno::swim
