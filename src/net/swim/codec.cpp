#include "net/swim/codec.hpp"

#include <limits>

#include "net/swim/bytes.hpp"

namespace idunno::swim {
namespace {

constexpr std::uint64_t max_u32 = std::numeric_limits<std::uint32_t>::max();

void put_id(ByteWriter& w, const MemberId& id) {
  w.str(id.name);
  w.str(id.addr.host);
  w.varint(id.addr.port);
  w.varint(id.start_ms);
}

MemberId get_id(ByteReader& r) {
  MemberId id;
  id.name = r.str(max_name_bytes);
  id.addr.host = r.str(max_host_bytes);
  id.addr.port = static_cast<std::uint16_t>(r.varint_max(65535));
  id.start_ms = r.varint();
  if (id.name.empty() || id.addr.host.empty() || id.addr.port == 0) r.fail();
  return id;
}

std::uint32_t get_u32v(ByteReader& r) { return static_cast<std::uint32_t>(r.varint_max(max_u32)); }

struct Encoder {
  ByteWriter& w;
  void operator()(const PingMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::ping));
    w.varint(m.seq);
    w.u32(m.target_tag);
  }
  void operator()(const AckMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::ack));
    w.varint(m.seq);
  }
  void operator()(const PingReqMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::ping_req));
    w.varint(m.seq);
    w.u32(m.target_tag);
    w.str(m.target.host);
    w.varint(m.target.port);
  }
  void operator()(const NackMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::nack));
    w.varint(m.seq);
  }
  void operator()(const AliveMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::alive));
    put_id(w, m.id);
    w.varint(m.incarnation);
  }
  void operator()(const SuspectMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::suspect));
    put_id(w, m.id);
    w.varint(m.incarnation);
    w.u32(m.from_tag);
  }
  void operator()(const DeadMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::dead));
    put_id(w, m.id);
    w.varint(m.incarnation);
    w.u32(m.from_tag);
  }
  void operator()(const LeftMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::left));
    put_id(w, m.id);
    w.varint(m.incarnation);
  }
  void operator()(const PushPullMsg& m) {
    w.u8(static_cast<std::uint8_t>(MsgType::push_pull));
    w.u8(m.join ? 1 : 0);
    put_id(w, m.sender);
  }
};

std::optional<Message> decode_one(ByteReader& r) {
  const auto type = static_cast<MsgType>(r.u8());
  if (!r.ok()) return std::nullopt;
  Message m;
  switch (type) {
    case MsgType::ping: {
      PingMsg p;
      p.seq = get_u32v(r);
      p.target_tag = r.u32();
      m = p;
      break;
    }
    case MsgType::ack: m = AckMsg{get_u32v(r)}; break;
    case MsgType::ping_req: {
      PingReqMsg p;
      p.seq = get_u32v(r);
      p.target_tag = r.u32();
      p.target.host = r.str(max_host_bytes);
      p.target.port = static_cast<std::uint16_t>(r.varint_max(65535));
      if (p.target.host.empty() || p.target.port == 0) r.fail();
      m = p;
      break;
    }
    case MsgType::nack: m = NackMsg{get_u32v(r)}; break;
    case MsgType::alive: {
      AliveMsg a;
      a.id = get_id(r);
      a.incarnation = get_u32v(r);
      m = a;
      break;
    }
    case MsgType::suspect: {
      SuspectMsg s;
      s.id = get_id(r);
      s.incarnation = get_u32v(r);
      s.from_tag = r.u32();
      m = s;
      break;
    }
    case MsgType::dead: {
      DeadMsg d;
      d.id = get_id(r);
      d.incarnation = get_u32v(r);
      d.from_tag = r.u32();
      m = d;
      break;
    }
    case MsgType::left: {
      LeftMsg l;
      l.id = get_id(r);
      l.incarnation = get_u32v(r);
      m = l;
      break;
    }
    case MsgType::push_pull: {
      PushPullMsg p;
      const auto flags = r.u8();
      if (flags > 1) r.fail();
      p.join = flags == 1;
      p.sender = get_id(r);
      m = p;
      break;
    }
    default: return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return m;
}

}  // namespace

void encode(std::string& out, const Message& message) {
  ByteWriter w(out);
  std::visit(Encoder{w}, message);
}

std::string encode_one(const Message& message) {
  std::string out;
  encode(out, message);
  return out;
}

std::optional<std::vector<Message>> decode_body(std::span<const std::uint8_t> body, std::size_t max_messages) {
  if (body.empty()) return std::nullopt;
  ByteReader r(body);
  std::vector<Message> messages;
  while (!r.at_end()) {
    if (messages.size() >= max_messages) return std::nullopt;
    auto m = decode_one(r);
    if (!m) return std::nullopt;
    messages.push_back(std::move(*m));
  }
  return messages;
}

Message state_message(const Member& member, std::uint32_t from_tag) {
  switch (member.state) {
    case MemberState::alive: return AliveMsg{member.id, member.incarnation};
    case MemberState::suspect: return SuspectMsg{member.id, member.incarnation, from_tag};
    case MemberState::dead: return DeadMsg{member.id, member.incarnation, from_tag};
    case MemberState::left: return LeftMsg{member.id, member.incarnation};
  }
  return AliveMsg{member.id, member.incarnation};
}

}  // namespace idunno::swim
