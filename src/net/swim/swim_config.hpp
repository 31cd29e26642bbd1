#pragma once
// Tunables of the SWIM core and the timeouts derived from the group size.
//
// Why: the core takes its own config instead of core::MembershipSection so
// that simulations and tests can set knobs the config file does not expose
// (TCP fallback on/off, confirmation probes, retention). The node fills it
// with from_config(). Plain value type.

#include <chrono>
#include <cstddef>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"

namespace idunno::swim {

using namespace std::chrono_literals;

struct SwimConfig {
  core::Duration probe_interval = 250ms;
  core::Duration probe_timeout = 100ms;
  int indirect_checks = 3;
  int suspicion_mult = 2;      // min suspicion = mult * max(1, log10 N) * probe_interval
  int suspicion_max_mult = 4;  // max suspicion = max_mult * min suspicion
  int retransmit_mult = 4;     // each update is sent mult * ceil(log10(N + 1)) times
  int awareness_max = 8;       // local health scales own timing by up to this factor
  core::Duration gossip_interval = 100ms;
  int gossip_nodes = 3;
  core::Duration push_pull_interval = 15s;
  core::Duration rejoin_interval = 10s;

  // Not in the config file.
  // Independent confirmations that bring a suspicion down from the maximum
  // to the minimum timeout (Lifeguard's k).
  int suspicion_confirmations = 3;
  // On hearing a suspicion, this many members (in expectation) probe the
  // suspect themselves, so real failures gather confirmations within a
  // period and the suspect hears about it (buddy system).
  int confirm_probers = 5;
  bool tcp_fallback = true;
  // Dead members still receive gossip this long, so a live member wrongly
  // declared dead (e.g. across a partition) learns it and refutes.
  core::Duration gossip_to_dead = 30s;
  // Dead and left members stay listed this long.
  core::Duration dead_retention = 5min;
  // While a node knows no other member it retries its seeds this often.
  core::Duration lonely_rejoin_interval = 1s;
  std::size_t max_packet_bytes = 1400;
  std::size_t max_stream_bytes = 8u * 1024 * 1024;
  std::string secret;  // empty: packets are not authenticated

  // Timeouts derived from the number of live members `n` (self included).
  core::Duration suspicion_min(std::size_t n) const;
  core::Duration suspicion_max(std::size_t n) const;
  int retransmit_limit(std::size_t n) const;
  // Push-pull interval, stretched for big groups so that full-state
  // exchanges stay a small share of the traffic.
  core::Duration push_pull_scaled(std::size_t n) const;
  // Bound on kill -> dead at every live member, used by the simulation
  // invariants: a probe round's worth of periods to reach the victim, the
  // maximum suspicion, and the dissemination of the death.
  core::Duration detection_bound(std::size_t n) const;
};

SwimConfig from_config(const core::MembershipSection& membership, const core::ClusterSection& cluster);

}  // namespace idunno::swim
