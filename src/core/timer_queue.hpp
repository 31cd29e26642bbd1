#pragma once
// A deterministic timer queue for sans-I/O protocol cores and simulations.
//
// Why: protocol cores ask for "call me at time T" without owning an Asio
// timer; the driver (real or simulated) reads next_deadline() and calls
// fire_due(now). Ties fire in scheduling order, so a seeded run replays.
// Not thread-safe: owned by the event loop (or the simulation) that steps it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "core/clock.hpp"

namespace idunno::core {

class TimerQueue {
 public:
  using TimerId = std::uint64_t;

  TimerId schedule(TimePoint at, std::function<void()> fn) {
    const TimerId id = next_id_++;
    timers_.emplace(Key{at, id}, std::move(fn));
    index_.emplace(id, at);
    return id;
  }

  bool cancel(TimerId id) {
    auto it = index_.find(id);
    if (it == index_.end()) return false;
    timers_.erase(Key{it->second, id});
    index_.erase(it);
    return true;
  }

  std::optional<TimePoint> next_deadline() const {
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first.first;
  }

  // Runs every timer due at or before `now`, earliest first. Timers scheduled
  // by a callback for a time <= now also run in this call.
  std::size_t fire_due(TimePoint now) {
    std::size_t fired = 0;
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      auto node = timers_.extract(timers_.begin());
      index_.erase(node.key().second);
      node.mapped()();
      ++fired;
    }
    return fired;
  }

  std::size_t size() const { return timers_.size(); }

 private:
  using Key = std::pair<TimePoint, TimerId>;
  std::map<Key, std::function<void()>> timers_;
  std::map<TimerId, TimePoint> index_;
  TimerId next_id_ = 1;
};

}  // namespace idunno::core
