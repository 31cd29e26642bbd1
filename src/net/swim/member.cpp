#include "net/swim/member.hpp"

namespace idunno::swim {

std::string MemberId::to_string() const {
  return name + "@" + addr.to_string() + "#" + std::to_string(start_ms);
}

std::uint32_t MemberId::tag() const {
  // FNV-1a over the id fields, folded to 32 bits: stable across processes
  // and builds (std::hash is not).
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // field separator
    h *= 1099511628211ull;
  };
  mix(name);
  mix(addr.host);
  mix(std::to_string(addr.port));
  mix(std::to_string(start_ms));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::string_view to_string(MemberState state) {
  switch (state) {
    case MemberState::alive: return "alive";
    case MemberState::suspect: return "suspect";
    case MemberState::dead: return "dead";
    case MemberState::left: return "left";
  }
  return "unknown";
}

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::joined: return "joined";
    case EventKind::suspect: return "suspect";
    case EventKind::alive: return "alive";
    case EventKind::dead: return "dead";
    case EventKind::left: return "left";
  }
  return "unknown";
}

}  // namespace idunno::swim
