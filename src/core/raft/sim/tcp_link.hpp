#pragma once
// How a lossy network delays messages that travel over TCP, for the Raft
// simulation.
//
// Why: on a real network loss does not drop a Raft message sent over TCP:
// it stalls the connection. The lost segment is resent after the
// retransmission timeout (Linux: at least 200 ms, doubling while the
// retransmission is lost too), or sooner by fast retransmit once a later
// segment arrives and the receiver's duplicate acknowledgements reach the
// sender, and everything sent after it waits behind it (head-of-line
// blocking). Timeouts that look generous against a 1 ms round trip are
// short against such a stall; the simulation must show that. One TcpLinks
// holds the state of every directed link; draws come from the caller's
// seeded generator, so a run replays. Test-only, single-threaded.

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "core/clock.hpp"
#include "core/raft/types.hpp"

namespace idunno::raft::sim {

struct TcpLossModel {
  double loss = 0.0;                                        // per segment, each direction
  core::Duration min_rto = std::chrono::milliseconds(200);  // Linux TCP_RTO_MIN
};

class TcpLinks {
 public:
  // When a message sent now from `from` to `to`, which would take `delay` on
  // a clean link, is delivered.
  template <typename Rng>
  core::TimePoint delivery(const NodeName& from, const NodeName& to, core::TimePoint now, core::Duration delay,
                           const TcpLossModel& model, Rng& rng) {
    auto& link = links_[{from, to}];
    auto lost = [&] { return model.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < model.loss; };
    if (link.recover_at > now) {
      // A segment is missing: this one arrives out of order; the receiver's
      // duplicate acknowledgements trigger a fast retransmit, unless that
      // retransmission is lost as well.
      if (!link.fast_retransmit_tried) {
        link.fast_retransmit_tried = true;
        if (!lost()) link.recover_at = std::min(link.recover_at, now + 2 * delay);
      }
    } else if (lost()) {
      // Lost with nothing behind it yet: resent on the timeout, which doubles
      // for every retransmission that is lost too.
      auto rto = model.min_rto;
      auto at = now + rto;
      while (lost()) {
        rto *= 2;
        at += rto;
      }
      link.recover_at = at;
      link.fast_retransmit_tried = false;
    }
    const auto at = std::max({now + delay, link.recover_at, link.last_delivery});
    link.last_delivery = at;
    return at;
  }

  // A partition or a crash resets the connections of a node.
  void reset(const NodeName& node) {
    for (auto it = links_.begin(); it != links_.end();) {
      it = (it->first.first == node || it->first.second == node) ? links_.erase(it) : std::next(it);
    }
  }

 private:
  struct Link {
    core::TimePoint last_delivery{};
    core::TimePoint recover_at{};
    bool fast_retransmit_tried = false;
  };
  std::map<std::pair<NodeName, NodeName>, Link> links_;
};

}  // namespace idunno::raft::sim
