#pragma once
// Time as a seam: protocol code asks a Clock for "now" instead of reading the
// system clock, so that simulations step time by hand and runs replay.
//
// SystemClock may be read from any thread. FakeClock belongs to the test
// that steps it; it is not thread-safe.

#include <chrono>

namespace idunno::core {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
using std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

// Milliseconds since the clock's epoch, for logs and wire fields.
inline long long to_millis(TimePoint t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace idunno::core
