#pragma once
// How a lossy network delays messages that travel over TCP, for the Raft
// simulation.
//
// Why: on a real network loss does not drop a Raft message sent over TCP:
// it stalls the connection. The lost segment is resent after the
// retransmission timeout (Linux: at least 200 ms, doubling while the
// retransmission is lost too), or sooner once a later segment arrives and
// the receiver's acknowledgement tells the sender (fast retransmit; Linux's
// RACK, RFC 8985, also resends a lost retransmission once a segment sent
// after it is acknowledged), and everything sent after it waits behind it
// (head-of-line blocking). Timeouts that look generous against a 1 ms round
// trip are short against such a stall; the simulation must show that.
//
// A stall that ends early must release the messages already queued behind
// it, so messages wait in each link's queue and the caller asks for them
// (take_ready) at the times send() returns, rather than being given a fixed
// delivery time when sent. One TcpLinks holds the state of every directed
// link; draws come from the caller's seeded generator, so a run replays.
// Test-only, single-threaded.

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/raft/types.hpp"

namespace idunno::raft::sim {

struct TcpLossModel {
  double loss = 0.0;                                        // per segment, each direction
  core::Duration min_rto = std::chrono::milliseconds(200);  // Linux TCP_RTO_MIN
};

template <typename Item>
class TcpLinks {
 public:
  // Queues `item`, sent now from `from` to `to`, which would take `delay` on
  // a clean link. Returns when the caller should call take_ready for this
  // link (it may have been released earlier by a later send; then the call
  // finds nothing new).
  template <typename Rng>
  core::TimePoint send(const NodeName& from, const NodeName& to, core::TimePoint now, core::Duration delay,
                       const TcpLossModel& model, Rng& rng, Item item) {
    auto& link = links_[{from, to}];
    auto lost = [&] { return model.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < model.loss; };
    const std::uint64_t sequence = link.next_sequence++;
    if (link.stalled(now)) {
      // A segment is missing: this one arrives out of order (unless it is
      // lost as well), its acknowledgement tells the sender, which resends
      // the missing one (unless that copy is lost too). Every segment sent
      // during the stall is such a chance.
      const bool acknowledged = !lost();
      if (acknowledged && !lost()) link.recover_at = std::min(link.recover_at, now + 2 * delay);
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
      link.stall_from = sequence;
    }
    link.queue.push_back(Queued{sequence, now, now + delay, std::move(item)});
    return std::max(now + delay, link.stalled(now) ? link.recover_at : now);
  }

  // The items of the link that have arrived by `now`, in the order sent.
  std::vector<Item> take_ready(const NodeName& from, const NodeName& to, core::TimePoint now) {
    std::vector<Item> out;
    auto it = links_.find({from, to});
    if (it == links_.end()) return out;
    auto& link = it->second;
    while (!link.queue.empty() && link.queue.front().ready <= now &&
           (!link.stalled(now) || link.queue.front().sequence < link.stall_from)) {
      out.push_back(std::move(link.queue.front().item));
      link.queue.pop_front();
    }
    return out;
  }

  // When the oldest item still waiting on the link was sent.
  std::optional<core::TimePoint> oldest_waiting(const NodeName& from, const NodeName& to) const {
    auto it = links_.find({from, to});
    if (it == links_.end() || it->second.queue.empty()) return std::nullopt;
    return it->second.queue.front().sent;
  }

  // A partition or a crash resets the connections of a node: what they
  // still held is lost with them.
  void reset(const NodeName& node) {
    for (auto it = links_.begin(); it != links_.end();) {
      it = (it->first.first == node || it->first.second == node) ? links_.erase(it) : std::next(it);
    }
  }

 private:
  struct Queued {
    std::uint64_t sequence;
    core::TimePoint sent;
    core::TimePoint ready;  // when it would arrive on a clean link
    Item item;
  };
  struct Link {
    std::deque<Queued> queue;
    std::uint64_t next_sequence = 0;
    // A stall: from the segment `stall_from` on, nothing arrives before
    // `recover_at`.
    core::TimePoint recover_at{};
    std::uint64_t stall_from = 0;
    bool stalled(core::TimePoint now) const { return recover_at > now; }
  };
  std::map<std::pair<NodeName, NodeName>, Link> links_;
};

}  // namespace idunno::raft::sim
