#include "cli/online_router.hpp"

#include <algorithm>

namespace idunno::cli {

namespace {

// FNV-1a then a SplitMix64 finaliser: stable across builds and machines
// (std::hash is not promised to be).
std::uint64_t weight(std::string_view model, std::string_view worker) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](std::string_view text) {
    for (const char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
  };
  mix(model);
  h ^= 0xff;  // a separator no name holds
  h *= 0x100000001b3ULL;
  mix(worker);
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

std::vector<std::string> rank_workers(std::string_view model, std::vector<std::string> workers) {
  std::sort(workers.begin(), workers.end(), [model](const std::string& a, const std::string& b) {
    const auto wa = weight(model, a);
    const auto wb = weight(model, b);
    return wa != wb ? wa > wb : a < b;
  });
  workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
  return workers;
}

std::vector<std::string> OnlineRouter::choose(std::string_view model, const std::vector<std::string>& workers,
                                              Clock::time_point now) const {
  std::vector<std::string> ranked = rank_workers(model, workers);
  // Healthy workers keep their rank; recently failed ones go last.
  std::stable_partition(ranked.begin(), ranked.end(), [this, now](const std::string& w) {
    const auto it = passed_over_until_.find(w);
    return it == passed_over_until_.end() || it->second <= now;
  });
  const std::size_t healthy = static_cast<std::size_t>(std::count_if(ranked.begin(), ranked.end(), [this, now](const std::string& w) {
    const auto it = passed_over_until_.find(w);
    return it == passed_over_until_.end() || it->second <= now;
  }));
  const std::size_t span = std::min(spread_, healthy);
  if (span > 1) {
    // The least loaded of the first `span`; ties keep the rank.
    std::size_t best = 0;
    for (std::size_t i = 1; i < span; ++i) {
      if (in_flight(ranked[i]) < in_flight(ranked[best])) best = i;
    }
    std::rotate(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(best),
                ranked.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  return ranked;
}

void OnlineRouter::finished(const std::string& worker) {
  const auto it = in_flight_.find(worker);
  if (it == in_flight_.end()) return;
  if (--it->second == 0) in_flight_.erase(it);
}

std::size_t OnlineRouter::in_flight(const std::string& worker) const {
  const auto it = in_flight_.find(worker);
  return it == in_flight_.end() ? 0 : it->second;
}

}  // namespace idunno::cli
