#pragma once
// Dissemination: every gossip_interval, queued membership updates go to
// gossip_nodes random members (live ones, and members declared dead not long
// ago, so a live member wrongly declared dead hears it and refutes). Idle
// groups send nothing here: updates also ride on pings and acks.
//
// Why: piggybacking alone spreads updates at the probe rate; a dedicated
// gossip round bounds dissemination time to about log(N) gossip intervals,
// which is most of the detection budget once a member is declared dead.
// Owned by SwimCore; not thread-safe.

#include "net/swim/swim_context.hpp"

namespace idunno::swim {

class Gossip {
 public:
  explicit Gossip(SwimContext& ctx) : ctx_(ctx) {}

  void start(core::TimePoint now);
  // Sends the queued updates to every live member at once (used by leave so
  // the departure is known everywhere without waiting for gossip rounds).
  void flush_to_all(core::TimePoint now);

 private:
  void tick();

  SwimContext& ctx_;
};

}  // namespace idunno::swim
