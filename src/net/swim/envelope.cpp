#include "net/swim/envelope.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "net/swim/bytes.hpp"

namespace idunno::swim {

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::truncated: return "truncated";
    case DropReason::bad_magic: return "bad_magic";
    case DropReason::unauthenticated: return "unauthenticated";
    case DropReason::unexpected_auth: return "unexpected_auth";
    case DropReason::bad_mac: return "bad_mac";
    case DropReason::replayed: return "replayed";
    case DropReason::malformed: return "malformed";
    case DropReason::too_large: return "too_large";
    case DropReason::wrong_target: return "wrong_target";
    case DropReason::count_: break;
  }
  return "unknown";
}

Envelope::Envelope(std::string_view secret) {
  if (secret.empty()) return;
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  authenticated_ = true;
  // Key = SHA-256 of a domain label and the secret, so the same secret used
  // elsewhere does not give the same key.
  std::string material = "idunno-swim-v1:";
  material.append(secret);
  crypto_hash_sha256(key_.data(), reinterpret_cast<const unsigned char*>(material.data()), material.size());
  sodium_memzero(material.data(), material.size());
}

std::array<std::uint8_t, mac_bytes> Envelope::mac(std::span<const std::uint8_t> data) const {
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> full{};
  crypto_auth_hmacsha256(full.data(), data.data(), data.size(), key_.data());
  std::array<std::uint8_t, mac_bytes> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

std::string Envelope::seal(std::uint32_t sender_tag, std::uint64_t counter, std::string_view body) const {
  std::string out;
  out.reserve(body.size() + overhead());
  ByteWriter w(out);
  w.u8(authenticated_ ? auth_magic : plain_magic);
  w.u32(sender_tag);
  if (authenticated_) w.u64(counter);
  out.append(body);
  if (authenticated_) {
    const auto tag = mac(as_bytes(out));
    w.raw(tag);
  }
  return out;
}

std::variant<OpenedEnvelope, DropReason> Envelope::open(std::span<const std::uint8_t> packet) const {
  if (packet.empty()) return DropReason::truncated;
  const std::uint8_t magic = packet[0];
  if (magic != plain_magic && magic != auth_magic) return DropReason::bad_magic;
  if (magic == plain_magic && authenticated_) return DropReason::unauthenticated;
  if (magic == auth_magic && !authenticated_) return DropReason::unexpected_auth;
  if (packet.size() < overhead() + 1) return DropReason::truncated;
  ByteReader r(packet.subspan(1));
  OpenedEnvelope opened;
  opened.sender_tag = r.u32();
  if (!authenticated_) {
    opened.body = packet.subspan(plain_overhead);
    return opened;
  }
  opened.counter = r.u64();
  const auto signed_part = packet.first(packet.size() - mac_bytes);
  const auto expected = mac(signed_part);
  if (sodium_memcmp(expected.data(), packet.data() + signed_part.size(), mac_bytes) != 0) return DropReason::bad_mac;
  opened.body = packet.subspan(1 + 4 + 8, packet.size() - auth_overhead);
  return opened;
}

}  // namespace idunno::swim
