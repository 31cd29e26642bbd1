#pragma once
// The outer layer of every SWIM packet and stream payload: magic byte,
// sender tag, and with a cluster secret a counter and a MAC.
//
// Why: packets from outside the cluster (or another cluster, or a corrupted
// datagram) must be dropped before they touch membership state. With a
// secret, the body is authenticated with HMAC-SHA-256 (libsodium) truncated
// to 96 bits (as IPsec and SSH do: forging still takes ~2^96 tries, and idle
// traffic, which is mostly this overhead, stays within budget), and the
// counter feeds a replay window. Stateless apart from the derived key; safe
// from any thread.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "net/swim/swim_metrics.hpp"

namespace idunno::swim {

constexpr std::uint8_t plain_magic = 0xD1;
constexpr std::uint8_t auth_magic = 0xD2;
constexpr std::size_t plain_overhead = 1 + 4;
constexpr std::size_t mac_bytes = 12;
constexpr std::size_t auth_overhead = 1 + 4 + 8 + mac_bytes;

struct OpenedEnvelope {
  std::uint32_t sender_tag = 0;
  std::uint64_t counter = 0;  // 0 for plain packets
  std::span<const std::uint8_t> body;
};

class Envelope {
 public:
  // An empty secret means plain (unauthenticated) packets.
  explicit Envelope(std::string_view secret);

  bool authenticated() const { return authenticated_; }
  std::size_t overhead() const { return authenticated_ ? auth_overhead : plain_overhead; }

  std::string seal(std::uint32_t sender_tag, std::uint64_t counter, std::string_view body) const;
  std::variant<OpenedEnvelope, DropReason> open(std::span<const std::uint8_t> packet) const;

 private:
  std::array<std::uint8_t, mac_bytes> mac(std::span<const std::uint8_t> data) const;

  bool authenticated_ = false;
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace idunno::swim
