// The caching CPU allocator behind install_tensor_allocator.
//
// Every block carries a 64-byte header in front of what LibTorch sees:
// its usable size and a tag. LibTorch's raw interface (oneDNN's buffers
// go through it) frees a pointer with no context, so the deleter must find
// the size from the pointer alone; 64 bytes keep LibTorch's alignment.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "ml/tensor_allocator.hpp"

namespace idunno::ml {

namespace {

constexpr std::size_t kHeaderBytes = 64;
constexpr std::uint64_t kTag = 0x1d0a'7e45'0c0a'c4e1ULL;
constexpr std::size_t kPageBytes = 4096;

struct Header {
  std::size_t capacity;  // usable bytes after the header
  std::uint64_t tag;
};
static_assert(sizeof(Header) <= kHeaderBytes);

// Free large blocks by capacity; the oldest freed goes first when over the
// limit. Guarded by one mutex: only blocks of kMinCachedBytes or more come
// here, a few dozen per forward pass.
class BlockCache {
 public:
  // A cached block's base for `capacity` bytes (up to a quarter more), or
  // null.
  void* take(std::size_t capacity) {
    std::lock_guard lock(mutex_);
    auto it = free_.lower_bound(capacity);
    if (it == free_.end() || it->first > capacity + capacity / 4) {
      ++misses_;
      return nullptr;
    }
    void* base = it->second.base;
    cached_ -= it->first;
    free_.erase(it);
    ++hits_;
    return base;
  }

  void give(void* base, std::size_t capacity) {
    std::vector<void*> evicted;
    {
      std::lock_guard lock(mutex_);
      if (capacity > limit_) {
        evicted.push_back(base);
      } else {
        free_.emplace(capacity, Free{base, ++stamp_});
        cached_ += capacity;
        trim_locked(evicted);
      }
    }
    for (void* block : evicted) c10::free_cpu(block);
  }

  void set_limit(std::size_t limit) {
    std::vector<void*> evicted;
    {
      std::lock_guard lock(mutex_);
      limit_ = limit;
      trim_locked(evicted);
    }
    for (void* block : evicted) c10::free_cpu(block);
  }

  TensorCacheStats stats() {
    std::lock_guard lock(mutex_);
    return {true, limit_, cached_, free_.size(), hits_, misses_, evictions_};
  }

 private:
  struct Free {
    void* base;
    std::uint64_t stamp;  // when it was freed
  };

  void trim_locked(std::vector<void*>& evicted) {
    while (cached_ > limit_) {
      auto oldest = std::min_element(free_.begin(), free_.end(),
                                     [](const auto& a, const auto& b) { return a.second.stamp < b.second.stamp; });
      evicted.push_back(oldest->second.base);
      cached_ -= oldest->first;
      free_.erase(oldest);
      ++evictions_;
    }
  }

  std::mutex mutex_;
  std::multimap<std::size_t, Free> free_;
  std::size_t limit_ = 0;
  std::size_t cached_ = 0;
  std::uint64_t stamp_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t evictions_ = 0;
};

// Never destroyed: tensors may be freed during static destruction.
BlockCache& cache() {
  static auto* instance = new BlockCache();
  return *instance;
}

void release_block(void* data) {
  if (data == nullptr) return;
  void* base = static_cast<char*>(data) - kHeaderBytes;
  const auto* header = static_cast<const Header*>(base);
  if (header->tag != kTag) {
    // Allocated by LibTorch's default allocator before ours was installed
    // (install first thing in main, so that this does not happen).
    c10::free_cpu(data);
    return;
  }
  if (header->capacity >= kMinCachedBytes) {
    cache().give(base, header->capacity);
  } else {
    c10::free_cpu(base);
  }
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &release_block, cpu};
    const std::size_t capacity = n >= kMinCachedBytes ? (n + kPageBytes - 1) / kPageBytes * kPageBytes : n;
    void* base = capacity >= kMinCachedBytes ? cache().take(capacity) : nullptr;
    if (base == nullptr) {
      base = c10::alloc_cpu(capacity + kHeaderBytes);  // throws on failure, 64-byte aligned
      new (base) Header{capacity, kTag};
    }
    void* data = static_cast<char*>(base) + kHeaderBytes;
    return {data, data, &release_block, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release_block; }
};

std::mutex install_mutex;
bool installed = false;

}  // namespace

void install_tensor_allocator(std::size_t limit_bytes) {
  std::lock_guard lock(install_mutex);
  if (!installed && limit_bytes == 0) return;  // LibTorch's own allocator stays
  cache().set_limit(limit_bytes);
  if (installed) return;
  static auto* allocator = new CachingCpuAllocator();
  // Above the priority LibTorch registers its default with.
  c10::SetCPUAllocator(allocator, /*priority=*/1);
  installed = true;
}

TensorCacheStats tensor_cache_stats() {
  {
    std::lock_guard lock(install_mutex);
    if (!installed) return {};
  }
  return cache().stats();
}

void release_tensor_cache() {
  std::lock_guard lock(install_mutex);
  const std::size_t limit = cache().stats().limit_bytes;
  cache().set_limit(0);
  cache().set_limit(limit);
}

}  // namespace idunno::ml
