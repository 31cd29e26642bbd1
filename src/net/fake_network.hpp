#pragma once
// FakeNetwork: an in-memory network for deterministic tests and simulations.
//
// Why: protocols must be tested under loss, delay, duplication, reordering,
// partitions and crashes, reproducibly. FakeNetwork hands out
// DatagramTransport and StreamNetwork endpoints per HostPort; every random
// decision comes from one std::mt19937_64 seeded by the test, drawn in the
// order packets are sent, so a seed replays. Deliveries due at the same time
// happen in send order.
//
// Two time modes:
// - real time (first constructor): delays run on a steady_timer of the
//   executor. Decisions replay exactly; the interleaving of deliveries with
//   other timers depends on real elapsed time.
// - simulated time (second constructor): delays are measured on a
//   core::Clock and deliveries are scheduled on a core::TimerQueue that the
//   simulation steps (advance the clock, fire_due, then run the executor so
//   receivers resume). Fully deterministic for a seed.
//
// Everything (the network and its endpoints) lives on one executor and is
// touched only from it. Endpoints may outlive the network; they then behave
// as closed.
//
// Fault model:
// - datagrams: each is dropped with probability `loss`, otherwise delivered
//   after a delay uniform in [delay_min, delay_max] (reordering comes from
//   that jitter), and delivered a second time (with its own delay) with
//   probability `duplicate`.
// - streams are reliable and ordered like TCP: loss and duplication do not
//   apply, delay does (monotone per direction). Bytes sent across a
//   partition are held and delivered after heal(), as TCP retransmission
//   would; connect() across a partition fails with host_unreachable.
//   With set_retransmit_backoff(d), held bytes (and whatever the writer
//   queues behind them) arrive only d after heal(): a connection that sat
//   in TCP's exponential retransmission backoff stays stuck after the link
//   is back, while a new connection works at once.
// - each stream direction buffers at most set_stream_buffer() bytes written
//   and not yet read (256 KiB by default, like a pair of socket buffers):
//   write_all waits while the reader does not read.
// - crash(addr): the node's endpoints close, its streams are reset at both
//   ends, datagrams to it vanish. Creating an endpoint at the address again
//   is a restart.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/timer_queue.hpp"
#include "net/datagram.hpp"
#include "net/stream.hpp"

namespace idunno::net {

// Counters for tests to check what the fault injection did.
struct FakeNetworkStats {
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_dropped = 0;      // by loss
  std::uint64_t datagrams_blocked = 0;      // by partition, crash or no receiver
  std::uint64_t datagrams_duplicated = 0;
  std::uint64_t datagrams_overflowed = 0;   // receiver's inbox full (4096)
  std::uint64_t datagrams_delivered = 0;
  std::uint64_t stream_bytes_delivered = 0;
};

class FakeNetwork {
 public:
  // Real time mode.
  FakeNetwork(boost::asio::any_io_executor executor, std::uint64_t seed);
  // Simulated time mode; `clock` and `timers` must outlive the network.
  FakeNetwork(boost::asio::any_io_executor executor, std::uint64_t seed, const core::Clock& clock,
              core::TimerQueue& timers);
  ~FakeNetwork();
  FakeNetwork(const FakeNetwork&) = delete;
  FakeNetwork& operator=(const FakeNetwork&) = delete;

  // A datagram endpoint bound at `address`. Throws NetError if the address
  // already has a live datagram endpoint.
  std::unique_ptr<DatagramTransport> datagram(const core::HostPort& address);

  // A stream endpoint listening at `address`; its outgoing streams come
  // from `address` too (peer() on the accepting side reports it). Throws
  // NetError if the address already has a live stream endpoint.
  std::unique_ptr<StreamNetwork> stream(const core::HostPort& address);

  // Fault knobs; apply to packets sent from now on.
  void set_loss(double probability);
  void set_delay(core::Duration min, core::Duration max);
  void set_duplicate(double probability);
  // Per-direction buffer of connections opened from now on (at least 1).
  static constexpr std::size_t default_stream_buffer_bytes = 256 * 1024;
  void set_stream_buffer(std::size_t bytes);
  // How long after heal() bytes held across the partition arrive.
  void set_retransmit_backoff(core::Duration backoff);

  // Cuts every link between a node of `side_a` and a node of `side_b` (both
  // directions). Partitions accumulate until heal().
  void partition(const std::vector<core::HostPort>& side_a, const std::vector<core::HostPort>& side_b);
  // Restores every link and releases held stream bytes.
  void heal();
  // True when `from` cannot reach `to`.
  bool blocked(const core::HostPort& from, const core::HostPort& to) const;

  // Kills the node at `address` (see the fault model above).
  void crash(const core::HostPort& address);

  const FakeNetworkStats& stats() const;

  struct State;  // shared with endpoints; defined in the .cpp files

 private:
  std::shared_ptr<State> state_;
};

}  // namespace idunno::net
