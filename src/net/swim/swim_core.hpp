#pragma once
// The sans-I/O SWIM + Lifeguard membership core.
//
// Why: the protocol is a pure state machine driven by
// (now, datagram | stream payload | timer) -> (datagrams, stream requests,
// events), so a simulation can run hundreds of nodes on a fake network and
// clock and replay any seed, and the Asio driver (SwimService) stays thin.
// There is no socket and no clock inside: every input carries `now`.
//
// Driving it: after every input call take_output() and carry it out; call
// tick(now) whenever now >= next_deadline(). Owned by one driver; not
// thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/swim/anti_entropy.hpp"
#include "net/swim/gossip.hpp"
#include "net/swim/prober.hpp"
#include "net/swim/swim_context.hpp"
#include "net/swim/updates.hpp"

namespace idunno::swim {

class SwimCore {
 public:
  // `self.start_ms` must be the process start time (wall clock, ms); `seed`
  // seeds the core's random choices.
  SwimCore(SwimConfig config, MemberId self, std::uint64_t seed, core::TimePoint now);
  SwimCore(const SwimCore&) = delete;
  SwimCore& operator=(const SwimCore&) = delete;

  // --- inputs ---
  void on_packet(core::TimePoint now, const core::HostPort& from, std::span<const std::uint8_t> bytes);
  // A stream payload from a peer (fallback ping or push-pull); returns the
  // reply payload, or nullopt to refuse (the driver then reports an error).
  std::optional<std::string> on_stream_request(core::TimePoint now, std::span<const std::uint8_t> payload);
  void on_stream_reply(core::TimePoint now, std::uint64_t id, std::span<const std::uint8_t> payload);
  void on_stream_failed(core::TimePoint now, std::uint64_t id);
  void tick(core::TimePoint now);
  // Joins through the seeds (any one that answers is enough) and keeps
  // them for periodic re-joins; also ends a previous leave. Returns the ids
  // of the join stream requests it emitted.
  std::vector<std::uint64_t> join(core::TimePoint now, const std::vector<core::HostPort>& seeds);
  // Another layer heard from `addr` directly: if no active member is known
  // there, a join exchange with it goes out now (AntiEntropy::contact).
  bool contact(core::TimePoint now, const core::HostPort& addr);
  // Leaves the group: announces `left` to every live member and stops
  // probing. The driver should keep running the core a few gossip
  // intervals so the announcement spreads, then stop.
  void leave(core::TimePoint now);

  // --- outputs ---
  Output take_output();
  std::optional<core::TimePoint> next_deadline() const { return ctx_.timers.next_deadline(); }

  // --- queries ---
  std::vector<Member> members() const;  // every known member, self included, sorted by id
  Member self() const;
  const Member* find(const MemberId& id) const { return ctx_.table.find(id); }
  const SwimMetrics& metrics() const { return ctx_.metrics; }
  int health_score() const { return ctx_.awareness.score(); }
  std::size_t live_members() const { return ctx_.table.active_count(); }
  std::size_t pending_broadcasts() const { return ctx_.broadcasts.size(); }
  bool leaving() const { return ctx_.leaving; }
  const SwimConfig& config() const { return ctx_.config; }

 private:
  void enter(core::TimePoint now);
  bool accuses_self(const Message& m) const;
  std::optional<std::vector<Message>> open_stream(core::TimePoint now, std::span<const std::uint8_t> payload);

  SwimContext ctx_;
  MembershipUpdates updates_;
  Prober prober_;
  Gossip gossip_;
  AntiEntropy anti_entropy_;
};

}  // namespace idunno::swim
