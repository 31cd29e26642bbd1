#include "net/swim/anti_entropy.hpp"

#include <algorithm>

namespace idunno::swim {

namespace {
// Stream exchanges should finish well within a period of re-joins.
constexpr core::Duration stream_timeout = std::chrono::seconds(2);
}  // namespace

void AntiEntropy::start(core::TimePoint now) {
  // Random first offsets keep nodes started together out of step.
  const auto pp = ctx_.config.push_pull_scaled(ctx_.group_size()).count();
  const auto offset = std::uniform_int_distribution<core::Duration::rep>(pp / 2, pp)(ctx_.rng);
  ctx_.timers.schedule(now + core::Duration(offset), [this] { push_pull_tick(); });
  ctx_.timers.schedule(now + ctx_.config.lonely_rejoin_interval, [this] { rejoin_tick(); });
}

std::vector<std::uint64_t> AntiEntropy::join(core::TimePoint now, const std::vector<core::HostPort>& seeds) {
  for (const auto& seed : seeds) {
    if (std::find(seeds_.begin(), seeds_.end(), seed) == seeds_.end()) seeds_.push_back(seed);
  }
  std::vector<std::uint64_t> ids;
  for (const auto& seed : seeds) {
    if (seed == ctx_.self_id.addr) continue;
    ids.push_back(ctx_.request_stream(now, StreamKind::join, seed, local_state(true), stream_timeout));
  }
  return ids;
}

bool AntiEntropy::contact(core::TimePoint now, const core::HostPort& to) {
  if (ctx_.leaving || to == ctx_.self_id.addr) return false;
  const Member* m = ctx_.table.newest_at(to);
  if (m && is_active(m->state)) return false;
  auto [it, fresh] = contacted_.try_emplace(to, now);
  if (!fresh && now - it->second < std::chrono::seconds(1)) return false;
  it->second = now;
  request(now, StreamKind::join, to);
  return true;
}

void AntiEntropy::request(core::TimePoint now, StreamKind kind, const core::HostPort& to) {
  ctx_.request_stream(now, kind, to, local_state(kind == StreamKind::join), stream_timeout);
}

std::vector<Message> AntiEntropy::local_state(bool join) const {
  std::vector<Message> messages;
  messages.reserve(ctx_.table.size() + 1);
  messages.push_back(PushPullMsg{join, ctx_.self_id});
  for (const auto& [id, m] : ctx_.table.all()) messages.push_back(state_message(m, ctx_.self_tag()));
  return messages;
}

std::vector<Message> AntiEntropy::on_request(core::TimePoint now, const std::vector<Message>& messages) {
  merge(now, messages);
  return local_state(false);
}

void AntiEntropy::on_reply(core::TimePoint now, const std::vector<Message>& messages) { merge(now, messages); }

void AntiEntropy::merge(core::TimePoint now, const std::vector<Message>& messages) {
  if (messages.empty() || !std::holds_alternative<PushPullMsg>(messages.front())) return;
  ++ctx_.metrics.push_pulls;
  const std::uint32_t sender_tag = std::get<PushPullMsg>(messages.front()).sender.tag();
  for (std::size_t i = 1; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (const auto* alive = std::get_if<AliveMsg>(&m)) {
      const Member* local = ctx_.table.find(alive->id);
      if (local && local->state == MemberState::dead && alive->incarnation >= local->incarnation &&
          ctx_.table.newest_at(alive->id.addr) == local) {
        // The other side sees it alive: if it is, it refutes when told.
        prober_.notify(now, *local, DeadMsg{local->id, local->incarnation, ctx_.self_tag()});
      }
      updates_.on_alive(now, *alive);
    } else if (const auto* suspect = std::get_if<SuspectMsg>(&m)) {
      if (!ctx_.table.find(suspect->id)) updates_.on_alive(now, AliveMsg{suspect->id, suspect->incarnation});
      updates_.on_suspect(now, SuspectMsg{suspect->id, suspect->incarnation, sender_tag});
    } else if (const auto* dead = std::get_if<DeadMsg>(&m)) {
      if (dead->id == ctx_.self_id) {
        updates_.on_dead(now, *dead);
      } else {
        // Each node decides deaths by itself: a remote death is a suspicion.
        updates_.on_suspect(now, SuspectMsg{dead->id, dead->incarnation, sender_tag});
      }
    } else if (const auto* left = std::get_if<LeftMsg>(&m)) {
      updates_.on_left(now, *left);
    }
  }
}

void AntiEntropy::push_pull_tick() {
  const core::TimePoint now = ctx_.input_time;
  ctx_.timers.schedule(now + ctx_.config.push_pull_scaled(ctx_.group_size()), [this] { push_pull_tick(); });
  if (ctx_.leaving) return;
  const MemberId& self = ctx_.self_id;
  auto peers = ctx_.table.random_members(
      1, ctx_.rng, [&self](const Member& m) { return m.id != self && m.state == MemberState::alive; });
  if (!peers.empty()) request(now, StreamKind::push_pull, peers.front()->id.addr);
}

void AntiEntropy::rejoin_tick() {
  const core::TimePoint now = ctx_.input_time;
  const bool lonely = ctx_.table.active_count() <= 1;
  ctx_.timers.schedule(now + (lonely ? ctx_.config.lonely_rejoin_interval : ctx_.config.rejoin_interval),
                       [this] { rejoin_tick(); });
  ctx_.table.reap(now, ctx_.config.dead_retention);
  if (ctx_.leaving) return;
  for (const auto& seed : seeds_) {
    if (seed == ctx_.self_id.addr) continue;
    const Member* m = ctx_.table.newest_at(seed);
    if (!m || !is_active(m->state)) request(now, StreamKind::join, seed);
  }
  // A member declared dead may sit across a partition without any seed.
  const MemberId& self = ctx_.self_id;
  MemberTable& table = ctx_.table;
  auto dead = table.random_members(1, ctx_.rng, [&self, &table](const Member& m) {
    return m.id != self && m.state == MemberState::dead && table.newest_at(m.id.addr) == &m;
  });
  if (!dead.empty() && std::find(seeds_.begin(), seeds_.end(), dead.front()->id.addr) == seeds_.end()) {
    request(now, StreamKind::join, dead.front()->id.addr);
  }
}

}  // namespace idunno::swim
