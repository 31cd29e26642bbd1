#pragma once
// The byte formats a Router speaks: the log entry that names a state machine
// and a client session, and the result that comes back from applying it.
//
// Why: one Raft log carries the commands of several state machines (the
// key-value store, SDFS metadata, the scheduler), so every command entry says
// whose it is; and a client that retries after a leader change must not run
// a command twice, so every entry carries the client's session id and the
// command's sequence number (Raft thesis section 6.3). The leader stamps the
// entry with its clock's time when it enters the log: replicas expire
// sessions by that carried time, never by their own clocks. Stateless; any
// thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace idunno::raft {

enum class RoutedKind : std::uint8_t {
  command = 1,           // run `payload` on `machine`
  register_session = 2,  // open a session; the result carries its client id
};

struct RoutedEntry {
  RoutedKind kind = RoutedKind::command;
  std::uint64_t time_ms = 0;  // stamped by the leader (stamp_time)
  std::uint64_t client = 0;   // 0: no session (no deduplication)
  std::uint64_t seq = 0;      // the client's sequence number, from 1
  std::uint64_t acked = 0;    // the client has the results of every seq <= acked
  std::string machine;
  std::string payload;

  bool operator==(const RoutedEntry&) const = default;
};

// Routed entries start with this byte; a key-value command (the only kind of
// entry before routing existed) never does, so old logs still replay.
inline constexpr std::uint8_t kRoutedMagic = 0xA5;

std::string encode_routed(const RoutedEntry& entry);
// Throws DecodeError.
RoutedEntry decode_routed(std::string_view bytes);
bool is_routed(std::string_view bytes);
// The same entry with its time replaced (the leader's stamp).
std::string stamp_time(std::string_view bytes, std::uint64_t time_ms);

std::string routed_command(std::string_view machine, std::string_view command);
std::string register_session_entry();

enum class RouteStatus : std::uint8_t {
  ok = 0,                // `payload` is the machine's result
  duplicate = 1,         // already applied: `payload` is the cached result
  session_expired = 2,   // the session is unknown (expired or never opened)
  unknown_machine = 3,   // no machine of that name is registered
  bad_entry = 4,         // the entry could not be decoded
  already_answered = 5,  // seq <= what the client acknowledged: a client bug
  registered = 6,        // `payload` is the new client id (decimal)
};
std::string_view to_string(RouteStatus status);

struct RouteResult {
  RouteStatus status = RouteStatus::ok;
  std::string payload;

  bool operator==(const RouteResult&) const = default;
};

std::string encode_route_result(const RouteResult& result);
// Throws DecodeError.
RouteResult decode_route_result(std::string_view bytes);

}  // namespace idunno::raft
