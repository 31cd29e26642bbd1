// The caching CPU allocator behind install_tensor_allocator.
//
// LibTorch's raw interface (oneDNN's buffers go through it) frees a pointer
// with no context, possibly one that LibTorch's default allocator handed
// out before ours was installed. So the deleter decides what a pointer is
// without reading the memory around it: large blocks are page-aligned and
// registered by address; anything else (our small blocks, anyone's
// before the install) was allocated as LibTorch's default allocator does
// and is freed as it does.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <iterator>
#include <unordered_map>

#include "ml/tensor_allocator.hpp"

namespace idunno::ml {

namespace {

constexpr std::size_t kPageBytes = 4096;
// Larger requests are refused before rounding them up could overflow.
constexpr std::size_t kMaxBytes = static_cast<std::size_t>(PTRDIFF_MAX) - kPageBytes;

bool page_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kPageBytes == 0; }

// Every large block, by address; the free ones also by capacity (most
// recently freed handed out first, warmest in cache) and by when they were
// freed (oldest evicted first). One mutex: only blocks of kMinCachedBytes
// or more come here, a few dozen per forward pass.
class BlockCache {
 public:
  // A free block for `capacity` bytes (up to a quarter more), or null.
  void* take(std::size_t capacity) {
    std::lock_guard lock(mutex_);
    auto it = free_.lower_bound(capacity);
    if (it == free_.end() || it->first - capacity > capacity / 4) {
      ++misses_;
      return nullptr;
    }
    it = std::prev(free_.upper_bound(it->first));  // the most recent of that size
    void* base = it->second.base;
    by_age_.erase(it->second.stamp);
    cached_ -= it->first;
    free_.erase(it);
    ++hits_;
    return base;
  }

  // A new block of `capacity` bytes, page-aligned; throws c10::Error when
  // memory is out even after freeing the cache.
  void* fresh(std::size_t capacity) {
    void* base = nullptr;
    if (posix_memalign(&base, kPageBytes, capacity) != 0) {
      release_all();
      TORCH_CHECK(posix_memalign(&base, kPageBytes, capacity) == 0, "cannot allocate ", capacity, " bytes for a tensor");
    }
    try {
      std::lock_guard lock(mutex_);
      live_.emplace(base, capacity);
    } catch (...) {
      std::free(base);
      throw;
    }
    return base;
  }

  // Takes back `base` if it is one of ours; false if it is not. Runs in
  // tensor destructors: never throws (a block that cannot be kept is freed).
  bool give(void* base) noexcept {
    std::lock_guard lock(mutex_);
    const auto live = live_.find(base);
    if (live == live_.end()) return false;
    const std::size_t capacity = live->second;
    if (capacity > limit_ || !add_free_locked(base, capacity)) {
      live_.erase(live);
      ++evictions_;
      std::free(base);
      return true;
    }
    trim_locked(limit_);
    return true;
  }

  void set_limit(std::size_t limit) {
    std::lock_guard lock(mutex_);
    limit_ = limit;
    trim_locked(limit_);
  }

  void release_all() {
    std::lock_guard lock(mutex_);
    trim_locked(0);
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
  using FreeMap = std::multimap<std::size_t, Free>;

  // False when there is no memory for the bookkeeping.
  bool add_free_locked(void* base, std::size_t capacity) noexcept {
    try {
      const std::uint64_t stamp = ++stamp_;
      const auto it = free_.emplace(capacity, Free{base, stamp});
      try {
        by_age_.emplace(stamp, it);
      } catch (...) {
        free_.erase(it);
        return false;
      }
    } catch (...) {
      return false;
    }
    cached_ += capacity;
    return true;
  }

  // Frees the oldest freed blocks until at most `target` bytes stay cached.
  // Eviction is rare (the cache is over its limit), so it frees under the
  // lock rather than allocate a list of blocks to free outside it.
  void trim_locked(std::size_t target) noexcept {
    while (cached_ > target) {
      const auto oldest = by_age_.begin();
      const FreeMap::iterator block = oldest->second;
      void* base = block->second.base;
      live_.erase(base);
      cached_ -= block->first;
      free_.erase(block);
      by_age_.erase(oldest);
      ++evictions_;
      std::free(base);
    }
  }

  std::mutex mutex_;
  std::unordered_map<void*, std::size_t> live_;  // every large block: capacity
  FreeMap free_;
  std::map<std::uint64_t, FreeMap::iterator> by_age_;
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
  if (page_aligned(data) && cache().give(data)) return;
  c10::free_cpu(data);  // a small block, or LibTorch's own
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n < kMinCachedBytes) {
      void* small = n == 0 ? nullptr : c10::alloc_cpu(n);
      return {small, small, &release_block, cpu};
    }
    TORCH_CHECK(n <= kMaxBytes, "cannot allocate ", n, " bytes for a tensor");
    const std::size_t capacity = (n + kPageBytes - 1) / kPageBytes * kPageBytes;
    void* data = cache().take(capacity);
    if (data == nullptr) data = cache().fresh(capacity);
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

void release_tensor_cache() { cache().release_all(); }

}  // namespace idunno::ml
