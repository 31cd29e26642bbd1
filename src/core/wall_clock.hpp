#pragma once
// Milliseconds since the Unix epoch on this machine's wall clock: the time
// stamped into replicated commands (the job table's at_ms) and compared
// with log lines. Any thread.

#include <chrono>
#include <cstdint>

namespace idunno::core {

inline std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace idunno::core
