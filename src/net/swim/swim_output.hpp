#pragma once
// What the sans-I/O SWIM core asks its driver to do after an input.
//
// Why: the core never touches sockets or clocks; it leaves datagrams to
// send, stream requests to run (TCP fallback pings, push-pull exchanges,
// joins) and membership events to publish here, and the driver (the Asio
// service or the simulation) carries them out. Plain value types.

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "net/swim/member.hpp"

namespace idunno::swim {

struct OutPacket {
  core::HostPort to;
  std::string bytes;  // one datagram, at most max_packet_bytes
};

enum class StreamKind : std::uint8_t {
  ping,       // TCP fallback ping: the reply is an ack
  push_pull,  // periodic anti-entropy exchange
  join,       // push-pull to a seed (join or periodic re-join)
};

// Send `payload` over a stream to `to` and hand the reply to
// SwimCore::on_stream_reply(id, ...) or report SwimCore::on_stream_failed(id)
// when there is none within `timeout`.
struct StreamRequest {
  std::uint64_t id = 0;
  StreamKind kind = StreamKind::ping;
  core::HostPort to;
  std::string payload;
  core::Duration timeout{};
};

struct Output {
  std::vector<OutPacket> packets;
  std::vector<StreamRequest> streams;
  std::vector<MemberEvent> events;

  bool empty() const { return packets.empty() && streams.empty() && events.empty(); }
};

}  // namespace idunno::swim
