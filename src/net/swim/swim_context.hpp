#pragma once
// State shared by the SWIM concerns (probing, suspicion, dissemination,
// anti-entropy) and the helpers to emit packets, streams and events.
//
// Why: each concern lives in its own class and file but they act on one
// member table, one broadcast queue, one random source and one output
// buffer; the context owns those so the concerns stay small. Owned by
// SwimCore; not thread-safe (the loop that drives the core).

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/timer_queue.hpp"
#include "net/swim/awareness.hpp"
#include "net/swim/broadcast_queue.hpp"
#include "net/swim/codec.hpp"
#include "net/swim/envelope.hpp"
#include "net/swim/member_table.hpp"
#include "net/swim/replay_window.hpp"
#include "net/swim/swim_config.hpp"
#include "net/swim/swim_metrics.hpp"
#include "net/swim/swim_output.hpp"

namespace idunno::swim {

class SwimContext {
 public:
  SwimContext(SwimConfig config, MemberId self, std::uint64_t seed, core::TimePoint now);

  // This node's own record (always in the table).
  Member& self() { return *table.find(self_id); }
  std::uint32_t self_tag() const { return self_tag_; }
  // Live members including self: the N of the timeout formulas.
  std::size_t group_size() const { return table.active_count() < 1 ? 1 : table.active_count(); }

  std::uint32_t next_seq() { return ++seq_; }
  std::uint64_t next_stream_id() { return ++stream_id_; }

  // Sends `primary` messages to `to` in one datagram, topped up with queued
  // updates when `piggyback` is set.
  void send(core::TimePoint now, const core::HostPort& to, const std::vector<Message>& primary,
            bool piggyback = true);
  // Queues a stream request; returns its id.
  std::uint64_t request_stream(core::TimePoint now, StreamKind kind, const core::HostPort& to,
                               const std::vector<Message>& body, core::Duration timeout);
  // Seals a stream payload (request or reply).
  std::string seal_stream(core::TimePoint now, const std::vector<Message>& body);
  // Queues an update for dissemination.
  void broadcast(const MemberId& about, const Message& update);
  void emit(EventKind kind, const Member& member, core::TimePoint now);

  // Opens an envelope and checks for replays; counts drops. Datagrams and
  // stream payloads have separate replay windows (they are not ordered
  // with each other).
  std::optional<OpenedEnvelope> open(core::TimePoint now, std::span<const std::uint8_t> bytes, bool stream);

  // This node's estimate of wall-clock microseconds (start time + elapsed).
  std::uint64_t wall_us(core::TimePoint now) const;

  SwimConfig config;
  MemberId self_id;
  Envelope envelope;
  MemberTable table;
  BroadcastQueue broadcasts;
  Awareness awareness;
  SwimMetrics metrics;
  std::mt19937_64 rng;
  core::TimerQueue timers;
  Output out;
  bool leaving = false;
  // Stream requests awaiting a reply or failure, by id.
  std::map<std::uint64_t, StreamKind> pending_streams;
  // The time of the input being handled; timer callbacks read it.
  core::TimePoint input_time{};

 private:
  std::uint64_t next_counter(core::TimePoint now);

  std::uint32_t self_tag_;
  core::TimePoint started_;
  std::uint32_t seq_ = 0;
  std::uint64_t stream_id_ = 0;
  std::uint64_t counter_ = 0;
  ReplayWindow replay_;
};

}  // namespace idunno::swim
