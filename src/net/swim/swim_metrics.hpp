#pragma once
// Counters kept by the SWIM core for export (Prometheus) and benchmarks.
//
// Why: the failure detector is judged by its traffic and its mistakes, so
// both are counted where they happen. Owned by the core; read a copy through
// SwimCore::metrics() on the loop that drives it.

#include <array>
#include <cstdint>
#include <string_view>

namespace idunno::swim {

// Why an incoming packet or stream payload was thrown away.
enum class DropReason : std::uint8_t {
  truncated,        // shorter than its envelope
  bad_magic,        // not a SWIM packet
  unauthenticated,  // plain packet while a cluster secret is set
  unexpected_auth,  // authenticated packet while no secret is set
  bad_mac,          // authentication failed: outside the cluster or corrupted
  replayed,         // counter already seen, or outside the replay window
  malformed,        // body does not decode
  too_large,        // over the size limit
  wrong_target,     // ping meant for another member (e.g. our predecessor)
  count_,
};

std::string_view to_string(DropReason reason);

struct SwimMetrics {
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t bytes_in = 0;   // UDP payload bytes
  std::uint64_t bytes_out = 0;
  std::uint64_t stream_bytes_in = 0;   // push-pull and fallback payloads
  std::uint64_t stream_bytes_out = 0;
  std::uint64_t probes_sent = 0;       // direct pings of a probe
  std::uint64_t acks_received = 0;     // probes answered (direct, indirect or fallback)
  std::uint64_t probes_failed = 0;
  std::uint64_t indirect_probes_sent = 0;  // ping-req messages
  std::uint64_t nacks_received = 0;
  std::uint64_t fallback_pings_sent = 0;
  std::uint64_t fallback_acks = 0;
  std::uint64_t pings_received = 0;
  std::uint64_t suspicions = 0;    // members this node started suspecting
  std::uint64_t confirmations = 0; // independent confirmations of suspicions
  std::uint64_t refutations = 0;   // times this node refuted a suspicion or death of itself
  std::uint64_t deaths = 0;        // members declared dead (by us or learned)
  std::uint64_t push_pulls = 0;    // state exchanges completed (either side)
  std::uint64_t stream_failures = 0;  // our stream requests that got no reply
  std::uint64_t broadcasts_queued = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(DropReason::count_)> dropped{};

  void drop(DropReason reason) { ++dropped[static_cast<std::size_t>(reason)]; }
  std::uint64_t dropped_total() const {
    std::uint64_t total = 0;
    for (auto n : dropped) total += n;
    return total;
  }
};

}  // namespace idunno::swim
