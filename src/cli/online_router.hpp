#pragma once
// Which worker an online inference request for a model goes to.
//
// Why: a model answers fast only where it is warm (loaded, its weights in
// the cache). Every console ranks the live workers for a model the same way
// (rendezvous hashing of the model's name with each worker's name), so the
// requests for one model from anywhere in the cluster land on the same few
// workers, which hold it warm, and a worker that goes only moves its own
// models. A request goes to whichever of the model's first `spread`
// workers has the fewest of this console's requests in flight; a worker
// whose call failed is passed over for a while.
//
// Event loop only (plain state, no I/O).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::cli {

// `workers` ordered by preference for `model` (highest rendezvous weight
// first); the same order on every node.
std::vector<std::string> rank_workers(std::string_view model, std::vector<std::string> workers);

class OnlineRouter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OnlineRouter(std::size_t spread, std::chrono::milliseconds pass_over = std::chrono::milliseconds(2000))
      : spread_(spread == 0 ? 1 : spread), pass_over_(pass_over) {}

  // The workers to try for `model`, in order: the chosen one first, then
  // the rest of the ranking as fallbacks. Workers that failed recently come
  // last.
  std::vector<std::string> choose(std::string_view model, const std::vector<std::string>& workers,
                                  Clock::time_point now) const;

  void started(const std::string& worker) { ++in_flight_[worker]; }
  void finished(const std::string& worker);
  void failed(const std::string& worker, Clock::time_point now) { passed_over_until_[worker] = now + pass_over_; }
  void succeeded(const std::string& worker) { passed_over_until_.erase(worker); }
  std::size_t in_flight(const std::string& worker) const;

 private:
  std::size_t spread_;
  std::chrono::milliseconds pass_over_;
  std::map<std::string, std::size_t> in_flight_;
  std::map<std::string, Clock::time_point> passed_over_until_;
};

}  // namespace idunno::cli
