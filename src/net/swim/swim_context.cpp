#include "net/swim/swim_context.hpp"

#include <chrono>

namespace idunno::swim {

SwimContext::SwimContext(SwimConfig cfg, MemberId self, std::uint64_t seed, core::TimePoint now)
    : config(std::move(cfg)),
      self_id(std::move(self)),
      envelope(config.secret),
      awareness(config.awareness_max),
      rng(seed),
      self_tag_(self_id.tag()),
      started_(now) {
  Member me{self_id, MemberState::alive, 0, now};
  table.insert(me, rng);
}

std::uint64_t SwimContext::wall_us(core::TimePoint now) const {
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count();
  return self_id.start_ms * 1000 + static_cast<std::uint64_t>(elapsed < 0 ? 0 : elapsed);
}

std::uint64_t SwimContext::next_counter(core::TimePoint now) {
  const std::uint64_t wall = wall_us(now);
  counter_ = wall > counter_ ? wall : counter_ + 1;
  return counter_;
}

void SwimContext::send(core::TimePoint now, const core::HostPort& to, const std::vector<Message>& primary,
                       bool piggyback) {
  std::string body;
  for (const auto& m : primary) encode(body, m);
  const std::size_t limit = config.max_packet_bytes - envelope.overhead();
  if (piggyback && body.size() < limit && !broadcasts.empty()) {
    broadcasts.fill(body, limit - body.size(), config.retransmit_limit(group_size()));
  }
  if (body.empty()) return;
  std::string packet = envelope.seal(self_tag_, next_counter(now), body);
  ++metrics.packets_out;
  metrics.bytes_out += packet.size();
  out.packets.push_back(OutPacket{to, std::move(packet)});
}

std::string SwimContext::seal_stream(core::TimePoint now, const std::vector<Message>& body_messages) {
  std::string body;
  for (const auto& m : body_messages) encode(body, m);
  std::string payload = envelope.seal(self_tag_, next_counter(now), body);
  metrics.stream_bytes_out += payload.size();
  return payload;
}

std::uint64_t SwimContext::request_stream(core::TimePoint now, StreamKind kind, const core::HostPort& to,
                                          const std::vector<Message>& body, core::Duration timeout) {
  const std::uint64_t id = next_stream_id();
  pending_streams[id] = kind;
  out.streams.push_back(StreamRequest{id, kind, to, seal_stream(now, body), timeout});
  return id;
}

void SwimContext::broadcast(const MemberId& about, const Message& update) {
  ++metrics.broadcasts_queued;
  broadcasts.enqueue(about, encode_one(update));
}

void SwimContext::emit(EventKind kind, const Member& member, core::TimePoint now) {
  out.events.push_back(MemberEvent{kind, member, now});
}

std::optional<OpenedEnvelope> SwimContext::open(core::TimePoint now, std::span<const std::uint8_t> bytes,
                                                bool stream) {
  auto opened = envelope.open(bytes);
  if (auto* reason = std::get_if<DropReason>(&opened)) {
    metrics.drop(*reason);
    return std::nullopt;
  }
  auto& env = std::get<OpenedEnvelope>(opened);
  const std::uint64_t channel = (stream ? std::uint64_t{1} << 32 : 0) | env.sender_tag;
  if (envelope.authenticated() && !replay_.accept(channel, env.counter, wall_us(now))) {
    metrics.drop(DropReason::replayed);
    return std::nullopt;
  }
  return env;
}

}  // namespace idunno::swim
