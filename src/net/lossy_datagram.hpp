#pragma once
// A DatagramTransport decorator that drops a share of incoming datagrams.
//
// Why: the membership benchmark and soak tests measure false failure
// declarations under packet loss with real processes, where the kernel
// loses nothing on loopback. The node wraps its UDP transport in this when
// `membership.inject_loss_percent` is set (a testing knob; 0 by default).
// Lives on the event loop like the transport it wraps.

#include <memory>
#include <random>

#include "net/datagram.hpp"

namespace idunno::net {

class LossyDatagramTransport final : public DatagramTransport {
 public:
  LossyDatagramTransport(std::unique_ptr<DatagramTransport> inner, double loss, std::uint64_t seed)
      : inner_(std::move(inner)), loss_(loss), random_(seed) {}

  void send(const core::HostPort& to, std::string payload) override { inner_->send(to, std::move(payload)); }

  boost::asio::awaitable<Datagram> receive() override {
    for (;;) {
      Datagram datagram = co_await inner_->receive();
      if (std::bernoulli_distribution(loss_)(random_)) {
        ++dropped_;
        continue;
      }
      co_return datagram;
    }
  }

  core::HostPort local_address() const override { return inner_->local_address(); }
  void close() override { inner_->close(); }

  std::uint64_t dropped() const { return dropped_; }

 private:
  std::unique_ptr<DatagramTransport> inner_;
  double loss_;
  std::mt19937_64 random_;
  std::uint64_t dropped_ = 0;
};

}  // namespace idunno::net
