#pragma once
// Lifeguard suspicion: the timeout of one suspicion, which starts at the
// maximum and shrinks towards the minimum as independent members confirm it.
//
// Why: a member suspected by one peer is likely a victim of that peer's
// trouble (loss, slowness); one suspected by several peers independently is
// likely dead. timeout(C) = max(min, max - (max - min) * log(C+1) / log(k+1))
// for C confirmations of k expected. Plain value type owned by the
// suspicion tracker.

#include <cstdint>
#include <set>

#include "core/clock.hpp"

namespace idunno::swim {

class Suspicion {
 public:
  Suspicion(std::uint32_t first_from, int expected, core::Duration min, core::Duration max, core::TimePoint start);

  // Records a suspicion from `from`; true when it is a new independent
  // confirmation (and so the deadline moved earlier).
  bool confirm(std::uint32_t from);

  core::TimePoint deadline() const;
  int confirmations() const { return static_cast<int>(from_.size()) - 1; }
  core::TimePoint start() const { return start_; }

  // The formula, exposed for tests and benchmarks.
  static core::Duration timeout(int confirmations, int expected, core::Duration min, core::Duration max);

 private:
  std::set<std::uint32_t> from_;
  int expected_;
  core::Duration min_;
  core::Duration max_;
  core::TimePoint start_;
};

}  // namespace idunno::swim
