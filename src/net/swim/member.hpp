#pragma once
// Member identity and the per-member record every other SWIM part shares.
//
// Why: a member is one process, not one address. Its id carries the name,
// the address and the wall-clock start time of the process, so a restarted
// process is a new member and the old one can be declared dead instead of
// being resurrected. Plain value types; safe to copy to any thread.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/config.hpp"

namespace idunno::swim {

struct MemberId {
  std::string name;
  core::HostPort addr;
  std::uint64_t start_ms = 0;  // wall-clock ms when the process started

  // "name@host:port#start_ms": the id shown by list_mem and in logs.
  std::string to_string() const;
  // A 32-bit fingerprint of the whole id: pings name their target by it so a
  // restarted process at the same address does not answer for its
  // predecessor.
  std::uint32_t tag() const;

  bool operator==(const MemberId&) const = default;
  auto operator<=>(const MemberId&) const = default;
};

enum class MemberState : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };

std::string_view to_string(MemberState state);

// True for states that take part in probing and gossip.
inline bool is_active(MemberState s) { return s == MemberState::alive || s == MemberState::suspect; }

// What this node believes about one member.
struct Member {
  MemberId id;
  MemberState state = MemberState::alive;
  std::uint32_t incarnation = 0;
  core::TimePoint state_since{};  // when this node last changed the state
};

enum class EventKind : std::uint8_t {
  joined,     // a member appeared (or came back from dead/left with a new incarnation)
  suspect,    // a member is suspected
  alive,      // a suspect refuted the suspicion
  dead,       // a member was declared dead
  left,       // a member left the group on purpose
};

std::string_view to_string(EventKind kind);

struct MemberEvent {
  EventKind kind;
  Member member;  // the record after the change
  core::TimePoint at{};
};

}  // namespace idunno::swim
