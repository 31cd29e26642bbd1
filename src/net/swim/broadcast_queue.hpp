#pragma once
// Dissemination queue: membership updates waiting to be piggybacked on
// outgoing packets, each sent a limited number of times.
//
// Why: SWIM spreads updates epidemically on the packets it sends anyway.
// Only the newest update about a member is kept (it supersedes the older
// one), updates sent fewest times go first (newest first among equals), and
// an update is dropped after `limit` transmissions
// (retransmit_mult * ceil(log10(N + 1))). Owned by the SWIM core; not
// thread-safe.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "net/swim/member.hpp"

namespace idunno::swim {

class BroadcastQueue {
 public:
  // Queues `encoded` (one encoded message) about `about`, replacing any
  // queued update about the same member.
  void enqueue(const MemberId& about, std::string encoded);

  // Appends queued updates to `out` while they fit in `budget` more bytes;
  // each one appended counts a transmission. Returns the bytes appended.
  std::size_t fill(std::string& out, std::size_t budget, int limit);

  // Appends queued updates like fill() without counting transmissions.
  std::size_t peek(std::string& out, std::size_t budget) const;

  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }
  // Forgets everything (e.g. after leaving).
  void clear();

  BroadcastQueue() = default;
  BroadcastQueue(const BroadcastQueue&) = delete;  // keys point into items_
  BroadcastQueue& operator=(const BroadcastQueue&) = delete;

 private:
  struct Item {
    std::string encoded;
    int transmits = 0;
    std::uint64_t serial = 0;  // larger is newer; unique
    const MemberId* about = nullptr;  // the key of this item in items_
  };
  // Sort key: fewest transmits first, then newest. Serials are unique, so
  // the pointer is only carried along, never compared.
  using Key = std::tuple<int, std::uint64_t, Item*>;
  static Key key_of(Item& item) { return {item.transmits, ~item.serial, &item}; }

  std::map<MemberId, Item> items_;
  std::set<Key> order_;
  std::uint64_t next_serial_ = 1;
};

}  // namespace idunno::swim
