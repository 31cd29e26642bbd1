#pragma once
// ProbeTimer: a DatagramTransport decorator that times SWIM's direct
// probes, for the data-plane acceptance test.
//
// Why: "probes answered on time" is measured where it matters, at the
// prober: each outgoing ping's sequence number is noted with the time it
// left, and the ack carrying that number closes its round trip. So the
// figures include everything that delays an answer (the peer's event loop
// busy with a transfer, queues, the network). Packets are decoded with the
// SWIM codec (plain, unauthenticated packets only, as the test runs them);
// anything else passes through untouched. Lives on the event loop of the
// transport it wraps.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "net/datagram.hpp"

namespace idunno::dataplane {

struct ProbeStats {
  std::uint64_t pings_sent = 0;
  std::uint64_t acks = 0;
  std::uint64_t late_acks = 0;  // slower than the probe timeout
  double max_rtt_ms = 0.0;
  double sum_rtt_ms = 0.0;
};

class ProbeTimer final : public net::DatagramTransport {
 public:
  ProbeTimer(std::unique_ptr<net::DatagramTransport> inner, std::chrono::milliseconds probe_timeout)
      : inner_(std::move(inner)), probe_timeout_(probe_timeout) {}

  void send(const core::HostPort& to, std::string payload) override;
  boost::asio::awaitable<net::Datagram> receive() override;
  core::HostPort local_address() const override { return inner_->local_address(); }
  void close() override { inner_->close(); }

  const ProbeStats& stats() const { return stats_; }
  // Pings older than the probe timeout that no ack answered yet.
  std::uint64_t overdue() const;

 private:
  std::unique_ptr<net::DatagramTransport> inner_;
  std::chrono::milliseconds probe_timeout_;
  std::map<std::uint32_t, std::chrono::steady_clock::time_point> outstanding_;
  ProbeStats stats_;
};

}  // namespace idunno::dataplane
