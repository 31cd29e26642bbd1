#include "ml/model_cache.hpp"

namespace idunno::ml {

ModelPtr ModelCache::find(const std::string& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.position);
  return it->second.model;
}

void ModelCache::insert(const std::string& key, ModelPtr model) {
  erase(key);
  recency_.push_front(key);
  const std::size_t size = model->memory_bytes();
  entries_.emplace(key, Entry{std::move(model), size, recency_.begin()});
  bytes_ += size;
  while (bytes_ > capacity_ && recency_.size() > 1) erase(recency_.back());
}

void ModelCache::erase(const std::string& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  recency_.erase(it->second.position);
  entries_.erase(it);
}

std::vector<std::string> ModelCache::keys() const { return {recency_.begin(), recency_.end()}; }

}  // namespace idunno::ml
