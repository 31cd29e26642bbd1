#include "net/swim/gossip.hpp"

#include "net/swim/bytes.hpp"

namespace idunno::swim {

void Gossip::start(core::TimePoint now) {
  ctx_.timers.schedule(now + ctx_.config.gossip_interval, [this] { tick(); });
}

void Gossip::tick() {
  const core::TimePoint now = ctx_.input_time;
  ctx_.timers.schedule(now + ctx_.config.gossip_interval, [this] { tick(); });
  if (ctx_.broadcasts.empty()) return;
  const MemberId& self = ctx_.self_id;
  const core::Duration to_dead = ctx_.config.gossip_to_dead;
  auto targets = ctx_.table.random_members(static_cast<std::size_t>(ctx_.config.gossip_nodes), ctx_.rng,
                                           [&self, now, to_dead](const Member& m) {
                                             if (m.id == self) return false;
                                             if (is_active(m.state)) return true;
                                             return m.state == MemberState::dead && now - m.state_since < to_dead;
                                           });
  for (Member* target : targets) {
    if (ctx_.broadcasts.empty()) break;
    ctx_.send(now, target->id.addr, {});
  }
}

void Gossip::flush_to_all(core::TimePoint now) {
  std::vector<core::HostPort> targets;
  for (const auto& [id, m] : ctx_.table.all()) {
    if (id != ctx_.self_id && is_active(m.state)) targets.push_back(id.addr);
  }
  // Copies of the queue contents go to everyone; the queue itself keeps
  // spreading them afterwards.
  std::string updates;
  ctx_.broadcasts.peek(updates, ctx_.config.max_packet_bytes - ctx_.envelope.overhead());
  const auto messages = decode_body(as_bytes(updates));
  if (!messages) return;
  for (const auto& to : targets) ctx_.send(now, to, *messages, false);
}

}  // namespace idunno::swim
