#pragma once
// The SWIM wire messages and their compact binary encoding.
//
// Why: idle traffic is pings and acks, so they must be a few bytes each
// (an idle ping is 8 bytes of body, an ack 4). A packet body is a sequence
// of messages read until its end; one malformed message rejects the whole
// body. Decoding is bounds-checked (see bytes.hpp) and never throws. Pure
// functions; safe from any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "net/swim/member.hpp"

namespace idunno::swim {

enum class MsgType : std::uint8_t {
  ping = 1,
  ack = 2,
  ping_req = 3,
  nack = 4,
  alive = 5,
  suspect = 6,
  dead = 7,
  left = 8,
  push_pull = 9,
};

// Direct probe; target_tag is MemberId::tag() of the member meant.
struct PingMsg {
  std::uint32_t seq = 0;
  std::uint32_t target_tag = 0;
  bool operator==(const PingMsg&) const = default;
};
struct AckMsg {
  std::uint32_t seq = 0;
  bool operator==(const AckMsg&) const = default;
};
// "Ping target for me and ack or nack me with my seq."
struct PingReqMsg {
  std::uint32_t seq = 0;
  std::uint32_t target_tag = 0;
  core::HostPort target;
  bool operator==(const PingReqMsg&) const = default;
};
struct NackMsg {
  std::uint32_t seq = 0;
  bool operator==(const NackMsg&) const = default;
};
// Membership updates (gossiped, and the records of a push-pull state).
struct AliveMsg {
  MemberId id;
  std::uint32_t incarnation = 0;
  bool operator==(const AliveMsg&) const = default;
};
struct SuspectMsg {
  MemberId id;
  std::uint32_t incarnation = 0;
  std::uint32_t from_tag = 0;  // who suspects: confirmations count distinct sources
  bool operator==(const SuspectMsg&) const = default;
};
struct DeadMsg {
  MemberId id;
  std::uint32_t incarnation = 0;
  std::uint32_t from_tag = 0;
  bool operator==(const DeadMsg&) const = default;
};
struct LeftMsg {
  MemberId id;
  std::uint32_t incarnation = 0;
  bool operator==(const LeftMsg&) const = default;
};
// Header of a push-pull state exchange (stream only); the sender's member
// records follow as Alive/Suspect/Dead/Left messages.
struct PushPullMsg {
  bool join = false;
  MemberId sender;
  bool operator==(const PushPullMsg&) const = default;
};

using Message = std::variant<PingMsg, AckMsg, PingReqMsg, NackMsg, AliveMsg, SuspectMsg, DeadMsg, LeftMsg,
                             PushPullMsg>;

constexpr std::size_t max_name_bytes = 255;
constexpr std::size_t max_host_bytes = 255;

void encode(std::string& out, const Message& message);
std::string encode_one(const Message& message);

// Decodes a whole body; nullopt if any message is malformed or the body is
// empty or holds more than `max_messages`.
std::optional<std::vector<Message>> decode_body(std::span<const std::uint8_t> body,
                                                std::size_t max_messages = 65536);

// The member record as an update message (alive/suspect/dead/left).
Message state_message(const Member& member, std::uint32_t from_tag);

}  // namespace idunno::swim
