#include "net/swim/suspicion.hpp"

#include <algorithm>
#include <cmath>

namespace idunno::swim {

Suspicion::Suspicion(std::uint32_t first_from, int expected, core::Duration min, core::Duration max,
                     core::TimePoint start)
    : expected_(expected), min_(min), max_(std::max(min, max)), start_(start) {
  from_.insert(first_from);
}

bool Suspicion::confirm(std::uint32_t from) {
  if (confirmations() >= expected_) return false;
  return from_.insert(from).second;
}

core::TimePoint Suspicion::deadline() const {
  return start_ + timeout(confirmations(), expected_, min_, max_);
}

core::Duration Suspicion::timeout(int confirmations, int expected, core::Duration min, core::Duration max) {
  if (expected < 1) return min;
  const double frac = std::log(static_cast<double>(confirmations) + 1.0) / std::log(static_cast<double>(expected) + 1.0);
  const double span = static_cast<double>((max - min).count());
  const auto raw = max - core::Duration(static_cast<core::Duration::rep>(frac * span));
  return std::max(min, raw);
}

}  // namespace idunno::swim
