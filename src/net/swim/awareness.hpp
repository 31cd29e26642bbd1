#pragma once
// Lifeguard local health: a score that rises when this node misses acks and
// nacks it should have got, or has to refute suspicions of itself, and falls
// with every successful probe. Probe interval and timeout are scaled by
// (score + 1).
//
// Why: a slow or overloaded node sees everybody as failing; stretching its
// own timing stops it from accusing healthy members. Owned by the SWIM
// core; not thread-safe.

#include <algorithm>

#include "core/clock.hpp"

namespace idunno::swim {

class Awareness {
 public:
  explicit Awareness(int max) : max_(std::max(1, max)) {}

  void apply(int delta) { score_ = std::clamp(score_ + delta, 0, max_ - 1); }
  int score() const { return score_; }
  core::Duration scale(core::Duration d) const { return d * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace idunno::swim
