#pragma once
// Tuning of the Raft core, independent of the config file's layout.
//
// Why: the core takes its settings as one value so that tests and the
// simulation set them directly; from_config() maps the node's config file
// onto it. Plain data.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/config.hpp"

namespace idunno::raft {

struct RaftConfig {
  std::chrono::milliseconds heartbeat{40};
  std::chrono::milliseconds election_timeout_min{150};
  std::chrono::milliseconds election_timeout_max{300};
  // Check-quorum: a leader that has heard from no majority of voters for
  // this long steps down. Longer than the election timeout on purpose: on a
  // lossy network a TCP connection stalls for a retransmission timeout
  // (200 ms or more, doubling), and a window shorter than that made a
  // healthy leader step down every few seconds at 10% loss. A leader cut
  // off from the majority keeps believing it leads for up to this long but
  // cannot commit; the majority elects another after an election timeout.
  std::chrono::milliseconds check_quorum{1000};
  // Take a snapshot after this many applied entries since the last one.
  std::uint64_t snapshot_entries = 10000;
  // Entries kept in the log behind a snapshot, so that a follower that lags
  // a little catches up from the log instead of a snapshot.
  std::uint64_t snapshot_trailing_entries = 1000;
  // Limits of one AppendEntries message.
  std::size_t max_append_entries = 1024;
  std::size_t max_append_bytes = 1 << 20;
  std::size_t snapshot_chunk_bytes = 1 << 20;
  // The largest command propose() accepts. An entry must fit in one
  // AppendEntries frame beside others (a larger one would enter the log and
  // never replicate), so from() derives it from the RPC frame limit.
  std::size_t max_entry_bytes = 4 << 20;
  // Voters the leader aims for when it manages membership.
  std::size_t target_voters = 7;
  // A learner is promoted once it lags the leader by at most this many
  // entries and has answered within an election timeout.
  std::uint64_t catch_up_max_lag = 64;

  // A frame to a peer carries the messages of one flush: a few
  // AppendEntries with up to max_append_bytes of small entries each, or one
  // large entry; a quarter of the frame leaves room for both.
  static std::size_t max_entry_bytes_for_frame(std::size_t max_frame_bytes) { return max_frame_bytes / 4; }

  static RaftConfig from(const core::Config& config) {
    RaftConfig c;
    c.heartbeat = std::chrono::milliseconds(config.raft.heartbeat_ms);
    c.election_timeout_min = std::chrono::milliseconds(config.raft.election_timeout_min_ms);
    c.election_timeout_max = std::chrono::milliseconds(config.raft.election_timeout_max_ms);
    c.check_quorum = std::chrono::milliseconds(config.raft.check_quorum_ms);
    c.snapshot_entries = static_cast<std::uint64_t>(config.raft.snapshot_entries);
    c.target_voters = static_cast<std::size_t>(config.cluster.voters);
    c.max_entry_bytes = max_entry_bytes_for_frame(config.rpc.max_frame_bytes);
    return c;
  }
};

}  // namespace idunno::raft
