#include "probe_timer.hpp"

#include <span>
#include <variant>

#include "net/swim/codec.hpp"
#include "net/swim/envelope.hpp"

namespace idunno::dataplane {

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The messages of a plain SWIM packet; empty for anything else.
std::vector<swim::Message> messages_of(const std::string& packet) {
  static const swim::Envelope envelope("");
  auto opened = envelope.open(bytes_of(packet));
  if (!std::holds_alternative<swim::OpenedEnvelope>(opened)) return {};
  auto decoded = swim::decode_body(std::get<swim::OpenedEnvelope>(opened).body);
  return decoded ? std::move(*decoded) : std::vector<swim::Message>{};
}

}  // namespace

void ProbeTimer::send(const core::HostPort& to, std::string payload) {
  for (const auto& message : messages_of(payload)) {
    if (const auto* ping = std::get_if<swim::PingMsg>(&message)) {
      outstanding_[ping->seq] = std::chrono::steady_clock::now();
      ++stats_.pings_sent;
    }
  }
  inner_->send(to, std::move(payload));
}

boost::asio::awaitable<net::Datagram> ProbeTimer::receive() {
  net::Datagram datagram = co_await inner_->receive();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& message : messages_of(datagram.payload)) {
    const auto* ack = std::get_if<swim::AckMsg>(&message);
    if (!ack) continue;
    auto it = outstanding_.find(ack->seq);
    if (it == outstanding_.end()) continue;
    const double rtt_ms = std::chrono::duration<double, std::milli>(now - it->second).count();
    outstanding_.erase(it);
    ++stats_.acks;
    stats_.sum_rtt_ms += rtt_ms;
    if (rtt_ms > stats_.max_rtt_ms) stats_.max_rtt_ms = rtt_ms;
    if (rtt_ms > static_cast<double>(probe_timeout_.count())) ++stats_.late_acks;
  }
  co_return datagram;
}

std::uint64_t ProbeTimer::overdue() const {
  const auto limit = std::chrono::steady_clock::now() - probe_timeout_;
  std::uint64_t n = 0;
  for (const auto& [seq, sent] : outstanding_) {
    if (sent < limit) ++n;
  }
  return n;
}

}  // namespace idunno::dataplane
