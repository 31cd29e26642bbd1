#include "net/swim/broadcast_queue.hpp"

#include <vector>

namespace idunno::swim {

void BroadcastQueue::enqueue(const MemberId& about, std::string encoded) {
  auto it = items_.find(about);
  if (it != items_.end()) {
    order_.erase(key_of(about, it->second));
    items_.erase(it);
  }
  Item item{std::move(encoded), 0, next_serial_++};
  order_.insert(key_of(about, item));
  items_.emplace(about, std::move(item));
}

std::size_t BroadcastQueue::fill(std::string& out, std::size_t budget, int limit) {
  std::size_t used = 0;
  std::vector<Key> sent;
  for (const Key& key : order_) {
    if (budget - used < 2) break;  // no update is smaller than this
    const Item& item = items_.at(std::get<2>(key));
    if (item.encoded.size() > budget - used) continue;
    out.append(item.encoded);
    used += item.encoded.size();
    sent.push_back(key);
  }
  for (const Key& key : sent) {
    order_.erase(key);
    auto it = items_.find(std::get<2>(key));
    ++it->second.transmits;
    if (it->second.transmits >= limit) {
      items_.erase(it);
    } else {
      order_.insert(key_of(it->first, it->second));
    }
  }
  return used;
}

void BroadcastQueue::clear() {
  items_.clear();
  order_.clear();
}

}  // namespace idunno::swim
