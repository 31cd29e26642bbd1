#include "core/raft/routed_entry.hpp"

#include "core/raft/codec.hpp"

namespace idunno::raft {

namespace {
constexpr std::uint8_t kEntryVersion = 1;
}

std::string encode_routed(const RoutedEntry& entry) {
  std::string out;
  Writer w(out);
  w.u8(kRoutedMagic);
  w.u8(kEntryVersion);
  w.u8(static_cast<std::uint8_t>(entry.kind));
  w.u64(entry.time_ms);
  w.u64(entry.client);
  w.u64(entry.seq);
  w.u64(entry.acked);
  w.bytes(entry.machine);
  w.bytes(entry.payload);
  return out;
}

bool is_routed(std::string_view bytes) {
  return !bytes.empty() && static_cast<std::uint8_t>(bytes[0]) == kRoutedMagic;
}

RoutedEntry decode_routed(std::string_view bytes) {
  Reader r(bytes);
  if (r.u8() != kRoutedMagic) throw DecodeError("not a routed entry");
  if (const auto version = r.u8(); version != kEntryVersion) {
    throw DecodeError("routed entry version " + std::to_string(version) + " is not known here");
  }
  RoutedEntry entry;
  const auto kind = r.u8();
  if (kind != static_cast<std::uint8_t>(RoutedKind::command) &&
      kind != static_cast<std::uint8_t>(RoutedKind::register_session)) {
    throw DecodeError("unknown routed entry kind");
  }
  entry.kind = static_cast<RoutedKind>(kind);
  entry.time_ms = r.u64();
  entry.client = r.u64();
  entry.seq = r.u64();
  entry.acked = r.u64();
  entry.machine = r.bytes();
  entry.payload = r.bytes();
  if (!r.done()) throw DecodeError("trailing bytes after routed entry");
  return entry;
}

std::string stamp_time(std::string_view bytes, std::uint64_t time_ms) {
  auto entry = decode_routed(bytes);
  entry.time_ms = time_ms;
  return encode_routed(entry);
}

std::string routed_command(std::string_view machine, std::string_view command) {
  RoutedEntry entry;
  entry.machine = machine;
  entry.payload = command;
  return encode_routed(entry);
}

std::string register_session_entry() {
  RoutedEntry entry;
  entry.kind = RoutedKind::register_session;
  return encode_routed(entry);
}

std::string_view to_string(RouteStatus status) {
  switch (status) {
    case RouteStatus::ok: return "ok";
    case RouteStatus::duplicate: return "duplicate";
    case RouteStatus::session_expired: return "session_expired";
    case RouteStatus::unknown_machine: return "unknown_machine";
    case RouteStatus::bad_entry: return "bad_entry";
    case RouteStatus::already_answered: return "already_answered";
    case RouteStatus::registered: return "registered";
  }
  return "unknown";
}

std::string encode_route_result(const RouteResult& result) {
  std::string out;
  Writer w(out);
  w.u8(static_cast<std::uint8_t>(result.status));
  w.bytes(result.payload);
  return out;
}

RouteResult decode_route_result(std::string_view bytes) {
  Reader r(bytes);
  RouteResult result;
  const auto status = r.u8();
  if (status > static_cast<std::uint8_t>(RouteStatus::registered)) throw DecodeError("unknown route status");
  result.status = static_cast<RouteStatus>(status);
  result.payload = r.bytes();
  if (!r.done()) throw DecodeError("trailing bytes after route result");
  return result;
}

}  // namespace idunno::raft
