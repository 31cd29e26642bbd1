#include "net/swim/broadcast_queue.hpp"

#include <vector>

namespace idunno::swim {

namespace {
// No encoded update is smaller than this; a budget below it is full.
constexpr std::size_t min_update_bytes = 12;
// Scanning stops after this many updates in a row did not fit.
constexpr int max_misfits = 16;
}  // namespace

void BroadcastQueue::enqueue(const MemberId& about, std::string encoded) {
  auto it = items_.find(about);
  if (it == items_.end()) {
    it = items_.emplace(about, Item{}).first;
  } else {
    order_.erase(key_of(it->second));
  }
  it->second = Item{std::move(encoded), 0, next_serial_++, &it->first};
  order_.insert(key_of(it->second));
}

std::size_t BroadcastQueue::fill(std::string& out, std::size_t budget, int limit) {
  std::size_t used = 0;
  int misfits = 0;
  std::vector<Key> sent;
  for (const Key& key : order_) {
    if (budget - used < min_update_bytes || misfits >= max_misfits) break;
    const Item& item = *std::get<2>(key);
    if (item.encoded.size() > budget - used) {
      ++misfits;
      continue;
    }
    misfits = 0;
    out.append(item.encoded);
    used += item.encoded.size();
    sent.push_back(key);
  }
  for (const Key& key : sent) {
    order_.erase(key);
    Item& item = *std::get<2>(key);
    ++item.transmits;
    if (item.transmits >= limit) {
      items_.erase(*item.about);
    } else {
      order_.insert(key_of(item));
    }
  }
  return used;
}

std::size_t BroadcastQueue::peek(std::string& out, std::size_t budget) const {
  std::size_t used = 0;
  for (const Key& key : order_) {
    const Item& item = *std::get<2>(key);
    if (budget - used < min_update_bytes) break;
    if (item.encoded.size() > budget - used) continue;
    out.append(item.encoded);
    used += item.encoded.size();
  }
  return used;
}

void BroadcastQueue::clear() {
  items_.clear();
  order_.clear();
}

}  // namespace idunno::swim
