#pragma once
// The lifecycle every service of a node shares, and the deadline a graceful
// stop must keep.
//
// Why: the node's composition root (NodeComposition) builds its services in
// dependency order, each taking what it uses as constructor arguments, then
// starts them in that order and stops them in reverse, all within the 5 s
// that CONTRACT.md allows after SIGTERM. A new service (storage, jobs)
// implements this interface and is added there; no other service changes.
//
// Stopping has two rounds over all services, newest first: drain() tells
// the world this node is going and refuses new work while everything still
// runs (membership announces `left`, the executor cancels pool work), then
// stop() ends every coroutine and releases sockets and threads.
//
// Services live on the event loop: construct them on the main thread before
// the loop runs, then touch them only from the loop.

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string_view>

namespace idunno::cli {

// When a stop must be done, and shares of what is left of it.
struct StopDeadline {
  std::chrono::steady_clock::time_point at;

  std::chrono::milliseconds left() const {
    const auto now = std::chrono::steady_clock::now();
    return now >= at ? std::chrono::milliseconds(0) : std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  }
  // left() / parts, at most `cap`.
  std::chrono::milliseconds share(int parts, std::chrono::milliseconds cap) const {
    return std::min(left() / std::max(parts, 1), cap);
  }
};

class Service {
 public:
  Service() = default;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  virtual ~Service() = default;

  // "membership", "console", ... (logs).
  virtual std::string_view name() const = 0;

  // Begins the service's work. Throws with a message that names what to
  // change; the composition root then destroys every service unstarted.
  virtual void start() = 0;

  // The first round of a graceful stop: announce the departure, refuse new
  // work, cancel what can be cancelled; keep serving what still runs.
  virtual boost::asio::awaitable<void> drain(StopDeadline /*deadline*/) { co_return; }

  // The second round: stop every coroutine the service started and release
  // what it holds, by `deadline`. Called once, after every drain().
  virtual boost::asio::awaitable<void> stop(StopDeadline deadline) = 0;
};

}  // namespace idunno::cli
