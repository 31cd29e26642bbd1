#pragma once
// Anti-entropy and joining: full-state push-pull exchanges over a stream with
// a random member every push_pull_interval, joins through any of the seeds,
// and periodic re-joins through seeds (and recently dead members) that are
// not live members, so that the two sides of a healed partition find each
// other again by themselves.
//
// Why: gossip only spreads changes; a member that missed them (a joiner, a
// partition) needs the whole state. Merging follows memberlist: remote
// deaths become local suspicions (each node checks for itself), and a member
// the other side sees alive but we declared dead is told so, to refute.
// Owned by SwimCore; not thread-safe.

#include <cstdint>
#include <optional>
#include <vector>

#include "net/swim/prober.hpp"
#include "net/swim/swim_context.hpp"
#include "net/swim/updates.hpp"

#include <map>

namespace idunno::swim {

class AntiEntropy {
 public:
  AntiEntropy(SwimContext& ctx, MembershipUpdates& updates, Prober& prober)
      : ctx_(ctx), updates_(updates), prober_(prober) {}

  void start(core::TimePoint now);
  // Remembers the seeds (for re-joins) and asks each one for a push-pull.
  // Returns the stream request ids.
  std::vector<std::uint64_t> join(core::TimePoint now, const std::vector<core::HostPort>& seeds);

  // Another layer heard from `to` directly: if no active member is known at
  // that address, ask it for a join exchange now instead of at the next
  // re-join (up to rejoin_interval away), at most once a second per
  // address. True if a request went out.
  bool contact(core::TimePoint now, const core::HostPort& to);

  // A push-pull request arrived: merge it and return our state as the reply.
  std::vector<Message> on_request(core::TimePoint now, const std::vector<Message>& messages);
  // Our push-pull got a reply.
  void on_reply(core::TimePoint now, const std::vector<Message>& messages);

  // This node's whole state as a push-pull body.
  std::vector<Message> local_state(bool join) const;
  const std::vector<core::HostPort>& seeds() const { return seeds_; }

 private:
  void merge(core::TimePoint now, const std::vector<Message>& messages);
  void push_pull_tick();
  void rejoin_tick();
  void request(core::TimePoint now, StreamKind kind, const core::HostPort& to);

  SwimContext& ctx_;
  MembershipUpdates& updates_;
  Prober& prober_;
  std::vector<core::HostPort> seeds_;
  std::map<core::HostPort, core::TimePoint> contacted_;
};

}  // namespace idunno::swim
