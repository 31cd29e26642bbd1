#include "net/swim/replay_window.hpp"

namespace idunno::swim {

bool ReplayWindow::accept(std::uint64_t sender, std::uint64_t counter, std::uint64_t now_us) {
  if (counter == 0) return false;
  if (counter + max_age_us_ < now_us || counter > now_us + max_age_us_) return false;
  auto it = windows_.find(sender);
  if (it == windows_.end()) {
    if (windows_.size() >= max_senders_) evict_one();
    windows_.emplace(sender, Window{counter, 1, ++uses_});
    return true;
  }
  Window& w = it->second;
  w.last_used = ++uses_;
  if (counter > w.highest) {
    const std::uint64_t shift = counter - w.highest;
    w.bitmap = shift >= 64 ? 1 : (w.bitmap << shift) | 1;
    w.highest = counter;
    return true;
  }
  const std::uint64_t behind = w.highest - counter;
  if (behind >= 64) return false;
  const std::uint64_t bit = std::uint64_t{1} << behind;
  if (w.bitmap & bit) return false;
  w.bitmap |= bit;
  return true;
}

void ReplayWindow::evict_one() {
  auto victim = windows_.begin();
  for (auto it = windows_.begin(); it != windows_.end(); ++it) {
    if (it->second.last_used < victim->second.last_used) victim = it;
  }
  if (victim != windows_.end()) windows_.erase(victim);
}

}  // namespace idunno::swim
