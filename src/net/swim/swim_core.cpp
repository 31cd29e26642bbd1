#include "net/swim/swim_core.hpp"

namespace idunno::swim {

namespace {
// Datagrams bigger than this are not SWIM packets whatever the sender's
// packet limit.
constexpr std::size_t max_datagram = 65507;
}  // namespace

SwimCore::SwimCore(SwimConfig config, MemberId self, std::uint64_t seed, core::TimePoint now)
    : ctx_(std::move(config), std::move(self), seed, now),
      updates_(ctx_),
      prober_(ctx_, updates_),
      gossip_(ctx_),
      anti_entropy_(ctx_, updates_, prober_) {
  ctx_.input_time = now;
  updates_.set_probe_hook([this](core::TimePoint t, const MemberId& id) { return prober_.probe_now(t, id); });
  prober_.start(now);
  gossip_.start(now);
  anti_entropy_.start(now);
}

bool SwimCore::accuses_self(const Message& m) const {
  if (const auto* s = std::get_if<SuspectMsg>(&m)) return s->id == ctx_.self_id;
  if (const auto* d = std::get_if<DeadMsg>(&m)) return d->id == ctx_.self_id;
  if (const auto* l = std::get_if<LeftMsg>(&m)) return l->id == ctx_.self_id;
  return false;
}

void SwimCore::enter(core::TimePoint now) {
  // Inputs may come slightly after a deadline: timers due by now go first
  // so that every input sees current state.
  ctx_.input_time = now;
  ctx_.timers.fire_due(now);
}

void SwimCore::tick(core::TimePoint now) { enter(now); }

void SwimCore::on_packet(core::TimePoint now, const core::HostPort& from, std::span<const std::uint8_t> bytes) {
  enter(now);
  ++ctx_.metrics.packets_in;
  ctx_.metrics.bytes_in += bytes.size();
  if (bytes.size() > max_datagram) {
    ctx_.metrics.drop(DropReason::too_large);
    return;
  }
  auto opened = ctx_.open(now, bytes, false);
  if (!opened) return;
  auto messages = decode_body(opened->body, ctx_.config.max_packet_bytes);
  if (!messages) {
    ctx_.metrics.drop(DropReason::malformed);
    return;
  }
  // Updates first: a refutation triggered by the packet then rides on the
  // ack that answers it. A packet that accuses us (even of an old
  // incarnation) is answered with our alive record.
  bool accused = false;
  bool pinged = false;
  for (const auto& m : *messages) {
    accused = accused || accuses_self(m);
    pinged = pinged || std::holds_alternative<PingMsg>(m);
    updates_.apply(now, m);
  }
  accused = accused && !ctx_.leaving;
  if (accused && !pinged) ctx_.send(now, from, {AliveMsg{ctx_.self_id, ctx_.self().incarnation}}, false);
  for (const auto& m : *messages) {
    if (const auto* ping = std::get_if<PingMsg>(&m)) prober_.on_ping(now, from, opened->sender_tag, *ping, accused);
    else if (const auto* ack = std::get_if<AckMsg>(&m)) prober_.on_ack(now, *ack);
    else if (const auto* nack = std::get_if<NackMsg>(&m)) prober_.on_nack(*nack);
    else if (const auto* req = std::get_if<PingReqMsg>(&m)) prober_.on_ping_req(now, from, *req);
  }
}

std::optional<std::vector<Message>> SwimCore::open_stream(core::TimePoint now, std::span<const std::uint8_t> payload) {
  ctx_.metrics.stream_bytes_in += payload.size();
  if (payload.size() > ctx_.config.max_stream_bytes) {
    ctx_.metrics.drop(DropReason::too_large);
    return std::nullopt;
  }
  auto opened = ctx_.open(now, payload, true);
  if (!opened) return std::nullopt;
  auto messages = decode_body(opened->body);
  if (!messages) ctx_.metrics.drop(DropReason::malformed);
  return messages;
}

std::optional<std::string> SwimCore::on_stream_request(core::TimePoint now, std::span<const std::uint8_t> payload) {
  enter(now);
  auto messages = open_stream(now, payload);
  if (!messages) return std::nullopt;
  const Message& first = messages->front();
  if (const auto* ping = std::get_if<PingMsg>(&first)) {
    auto reply = prober_.answer_stream_ping(*ping);
    if (!reply) return std::nullopt;
    return ctx_.seal_stream(now, *reply);
  }
  if (std::holds_alternative<PushPullMsg>(first)) {
    return ctx_.seal_stream(now, anti_entropy_.on_request(now, *messages));
  }
  ctx_.metrics.drop(DropReason::malformed);
  return std::nullopt;
}

void SwimCore::on_stream_reply(core::TimePoint now, std::uint64_t id, std::span<const std::uint8_t> payload) {
  enter(now);
  auto pending = ctx_.pending_streams.find(id);
  if (pending == ctx_.pending_streams.end()) return;
  const StreamKind kind = pending->second;
  ctx_.pending_streams.erase(pending);
  auto messages = open_stream(now, payload);
  if (kind == StreamKind::ping) {
    const bool acked = messages && std::holds_alternative<AckMsg>(messages->front());
    prober_.on_fallback_result(id, acked);
    return;
  }
  if (messages) anti_entropy_.on_reply(now, *messages);
}

void SwimCore::on_stream_failed(core::TimePoint now, std::uint64_t id) {
  enter(now);
  auto pending = ctx_.pending_streams.find(id);
  if (pending == ctx_.pending_streams.end()) return;
  ++ctx_.metrics.stream_failures;
  if (pending->second == StreamKind::ping) prober_.on_fallback_result(id, false);
  ctx_.pending_streams.erase(pending);
}

std::vector<std::uint64_t> SwimCore::join(core::TimePoint now, const std::vector<core::HostPort>& seeds) {
  enter(now);
  if (ctx_.leaving) {
    updates_.rejoin(now);
    prober_.start(now);
  }
  return anti_entropy_.join(now, seeds);
}

bool SwimCore::contact(core::TimePoint now, const core::HostPort& addr) {
  enter(now);
  return anti_entropy_.contact(now, addr);
}

void SwimCore::leave(core::TimePoint now) {
  enter(now);
  if (ctx_.leaving) return;
  updates_.leave(now);
  prober_.stop();
  gossip_.flush_to_all(now);
}

Output SwimCore::take_output() {
  Output out = std::move(ctx_.out);
  ctx_.out = Output{};
  return out;
}

std::vector<Member> SwimCore::members() const {
  std::vector<Member> out;
  out.reserve(ctx_.table.size());
  for (const auto& [id, m] : ctx_.table.all()) out.push_back(m);
  return out;
}

Member SwimCore::self() const { return *ctx_.table.find(ctx_.self_id); }

}  // namespace idunno::swim
