#pragma once
// LibTorch's CPU tensor memory, kept for reuse.
//
// Why: a forward pass of a convolutional network allocates the same large
// activation buffers every time (ResNet-18 at batch 8: from about 1 MB up
// to 26 MB each) and frees them at the end. glibc gives much of that back
// to the kernel between passes (a thread arena's heaps are unmapped when
// they empty; blocks over 32 MB, e.g. ResNet-18's first activations from
// batch 10, are always mapped and unmapped), so the next pass page-faults
// it in again. On the 2-core machines this cost ResNet-18 at batch 8 a
// fifth of its throughput and made it vary widely from one thread and
// process to the next.
//
// The allocator installed here keeps freed blocks of at least
// `kMinCachedBytes` (page-aligned) in a free list, bounded by
// `limit_bytes` (ml.tensor_cache_mb; oldest freed evicted first), and hands
// one out again for a request of its size or up to a quarter smaller.
// Smaller blocks are allocated and freed as LibTorch's default CPU
// allocator does (c10::alloc_cpu, 64-byte aligned); unlike it, this one
// does not report to LibTorch's memory profiler.
//
// Process-wide and thread-safe: LibTorch has one CPU allocator per process.
// The first install sets it (do that before LibTorch runs on more than one
// thread: LibTorch's allocator registry is not synchronised); later ones
// only change the limit. A buffer LibTorch's default allocator handed out
// before the install may be freed through this one; it is freed as the
// default one would.

#include <cstddef>
#include <cstdint>

namespace idunno::ml {

inline constexpr std::size_t kMinCachedBytes = std::size_t{32} << 10;

struct TensorCacheStats {
  bool installed = false;
  std::size_t limit_bytes = 0;
  std::size_t cached_bytes = 0;  // held in the free list now
  std::size_t cached_blocks = 0;
  std::uint64_t hits = 0;    // large requests served from the free list
  std::uint64_t misses = 0;  // large requests that allocated
  std::uint64_t evictions = 0;
};

// Makes LibTorch allocate CPU tensors through the cache, holding at most
// `limit_bytes` of free blocks. 0 leaves LibTorch's own allocator in place,
// or once installed, frees what is cached and caches nothing more.
void install_tensor_allocator(std::size_t limit_bytes);

TensorCacheStats tensor_cache_stats();

// Frees every cached block; the limit stays.
void release_tensor_cache();

}  // namespace idunno::ml
