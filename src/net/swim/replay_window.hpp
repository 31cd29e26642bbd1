#pragma once
// Replay protection for authenticated packets: per sender, the highest
// counter seen and a 64-counter sliding bitmap (the IPsec scheme), plus a
// freshness bound, since counters are microsecond wall-clock readings.
//
// Why: a recorded authenticated packet (e.g. an old "alive") must not be
// accepted again. Memory is bounded: beyond `max_senders` the sender seen
// longest ago is forgotten, and the freshness bound still rejects old
// recordings. Owned by the SWIM core; not thread-safe.

#include <cstdint>
#include <map>

namespace idunno::swim {

class ReplayWindow {
 public:
  // `max_age_us`: counters this far behind (or ahead of) the receiver's wall
  // clock are refused; it also bounds tolerated clock skew between nodes.
  explicit ReplayWindow(std::uint64_t max_age_us = 600'000'000, std::size_t max_senders = 4096)
      : max_age_us_(max_age_us), max_senders_(max_senders) {}

  // True (and recorded) when (sender, counter) is fresh and new. `sender`
  // names one ordered channel of one peer (e.g. its tag and the transport).
  bool accept(std::uint64_t sender, std::uint64_t counter, std::uint64_t now_us);

  std::size_t senders() const { return windows_.size(); }

 private:
  struct Window {
    std::uint64_t highest = 0;
    std::uint64_t bitmap = 0;  // bit i: highest - i was seen
    std::uint64_t last_used = 0;
  };
  void evict_one();

  std::uint64_t max_age_us_;
  std::size_t max_senders_;
  std::uint64_t uses_ = 0;
  std::map<std::uint64_t, Window> windows_;
};

}  // namespace idunno::swim
