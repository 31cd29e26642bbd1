#pragma once
// Loaded models kept for reuse, bounded by the memory their weights take
// (ml.model_cache_mb); the least recently used model goes first. A model in
// use elsewhere stays alive through its shared_ptr after eviction. Touch
// only from the event loop (the executor's caller); not thread-safe.

#include <cstddef>
#include <list>
#include <map>
#include <string>
#include <vector>

#include "ml/model.hpp"

namespace idunno::ml {

class ModelCache {
 public:
  explicit ModelCache(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The model under `key` (marking it recently used), or null.
  ModelPtr find(const std::string& key);
  // Adds or replaces `key`, then evicts least recently used models until the
  // total fits (the model just added is kept even when alone it does not).
  void insert(const std::string& key, ModelPtr model);
  void erase(const std::string& key);

  std::size_t bytes() const { return bytes_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t size() const { return entries_.size(); }
  // Keys from most to least recently used.
  std::vector<std::string> keys() const;

 private:
  struct Entry {
    ModelPtr model;
    std::size_t bytes = 0;
    std::list<std::string>::iterator position;
  };

  std::size_t capacity_;
  std::size_t bytes_ = 0;
  std::list<std::string> recency_;  // front: most recent
  std::map<std::string, Entry> entries_;
};

}  // namespace idunno::ml
