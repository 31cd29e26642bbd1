#pragma once
// The shared state behind FakeNetwork and its endpoints (internal to
// src/net; tests and other modules use fake_network.hpp).
//
// Why: endpoints outlive calls into the network and the network may die
// before its endpoints, so both sides share this state through shared_ptr /
// weak_ptr. All packet and byte deliveries go through one ordered queue
// keyed by (delivery time, sequence number) and one timer, so deliveries
// due at the same time happen in send order and a seed replays. Touch only
// from the network's executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/timer_queue.hpp"
#include "net/async_signal.hpp"
#include "net/datagram.hpp"
#include "net/fake_network.hpp"
#include "net/stream.hpp"

namespace idunno::net {

using FakeTime = core::TimePoint;

// The receiving side of one fake datagram endpoint.
struct FakeDatagramCore {
  FakeDatagramCore(boost::asio::any_io_executor executor, core::HostPort addr)
      : address(std::move(addr)), signal(std::move(executor)) {}
  static constexpr std::size_t max_inbox = 4096;  // a full socket buffer drops
  core::HostPort address;
  std::deque<Datagram> inbox;
  AsyncSignal signal;
  bool closed = false;
};

// One direction of a fake stream connection. Like a pair of socket
// buffers, it holds at most `capacity` bytes that the writer wrote and the
// reader has not read yet (in flight, held or readable): write_all waits for
// the reader, so back-pressure shows in tests as it does over TCP.
struct FakePipe {
  FakePipe(boost::asio::any_io_executor executor, std::size_t buffer_bytes)
      : capacity(buffer_bytes), signal(executor), writable(executor) {}
  // A chunk of bytes in order; `fin` marks the writer's close.
  struct Chunk {
    std::string bytes;
    bool fin = false;
  };
  std::size_t capacity;
  std::size_t unread = 0;             // written, not yet read by the reader
  std::deque<std::uint8_t> readable;  // delivered, not yet read
  std::deque<Chunk> held;             // written across a partition
  FakeTime last_delivery{};           // keeps deliveries in order
  bool fin_received = false;
  bool writer_closed = false;
  bool reader_closed = false;
  bool reset = false;
  bool releasing = false;             // held bytes wait out the retransmission backoff
  AsyncSignal signal;                 // readers: bytes, fin or reset arrived
  AsyncSignal writable;               // writers: space freed, or the pipe failed

  // Wakes everyone blocked on this pipe (close, reset, crash).
  void wake_all() {
    signal.notify_all();
    writable.notify_all();
  }
};

// A fake TCP connection between `a` (the connecting side) and `b`.
struct FakeConnection {
  FakeConnection(boost::asio::any_io_executor executor, core::HostPort from, core::HostPort to,
                 std::size_t buffer_bytes)
      : a(std::move(from)), b(std::move(to)), a_to_b(executor, buffer_bytes), b_to_a(executor, buffer_bytes) {}
  core::HostPort a, b;
  FakePipe a_to_b, b_to_a;
};

// The listening side of one fake stream endpoint.
struct FakeListenerCore {
  FakeListenerCore(boost::asio::any_io_executor executor, core::HostPort addr)
      : address(std::move(addr)), signal(std::move(executor)) {}
  core::HostPort address;
  std::deque<std::unique_ptr<Stream>> pending;
  AsyncSignal signal;
  bool listening = true;
  bool crashed = false;
};

struct FakeNetwork::State : std::enable_shared_from_this<FakeNetwork::State> {
  State(boost::asio::any_io_executor ex, std::uint64_t seed) : executor(ex), rng(seed), timer(ex) {}

  // The network's "now": the simulation clock, or the steady clock.
  FakeTime now() const { return clock ? clock->now() : FakeTime(std::chrono::steady_clock::now()); }

  // Random decisions, in call order.
  bool chance(double probability);
  std::chrono::nanoseconds draw_delay();

  bool blocked(const core::HostPort& from, const core::HostPort& to) const {
    return cut.contains({from, to});
  }

  // Runs `deliver` at `at` (never before anything scheduled earlier for the
  // same time).
  void schedule_at(FakeTime at, std::function<void()> deliver);

  // Datagrams.
  void send_datagram(const core::HostPort& from, const core::HostPort& to, std::string payload);

  // Streams: writes `chunk` from `from` to `to` into `pipe`, holding it while
  // the link is cut.
  void send_chunk(const std::shared_ptr<FakeConnection>& connection, bool from_a, FakePipe::Chunk chunk);
  void flush_held();
  void release_held(const std::shared_ptr<FakeConnection>& connection, bool from_a);
  void reset_connections_of(const core::HostPort& address);

  boost::asio::any_io_executor executor;
  std::mt19937_64 rng;
  const core::Clock* clock = nullptr;      // simulated time mode only
  core::TimerQueue* sim_timers = nullptr;  // simulated time mode only
  double loss = 0.0;
  double duplicate = 0.0;
  std::chrono::nanoseconds delay_min{0};
  std::chrono::nanoseconds delay_max{0};
  std::size_t stream_buffer_bytes = FakeNetwork::default_stream_buffer_bytes;
  std::chrono::nanoseconds retransmit_backoff{0};
  std::set<std::pair<core::HostPort, core::HostPort>> cut;  // directed links
  FakeNetworkStats stats;

  std::map<core::HostPort, std::weak_ptr<FakeDatagramCore>> datagram_endpoints;
  std::map<core::HostPort, std::weak_ptr<FakeListenerCore>> stream_endpoints;
  std::vector<std::weak_ptr<FakeConnection>> connections;

 private:
  void arm();
  void on_timer();

  boost::asio::steady_timer timer;
  std::map<std::pair<FakeTime, std::uint64_t>, std::function<void()>> queue_;
  std::uint64_t next_sequence_ = 0;
  FakeTime armed_for_ = FakeTime::max();
};

// Endpoint factories (fake_datagram.cpp, fake_stream.cpp).
std::unique_ptr<DatagramTransport> make_fake_datagram(std::shared_ptr<FakeNetwork::State> state,
                                                      const core::HostPort& address);
std::unique_ptr<StreamNetwork> make_fake_stream_network(std::shared_ptr<FakeNetwork::State> state,
                                                        const core::HostPort& address);

}  // namespace idunno::net
