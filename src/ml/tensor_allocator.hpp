#pragma once
// LibTorch's CPU tensor memory, kept for reuse.
//
// Why: a forward pass of a convolutional network allocates the same large
// activation buffers (ResNet-18 at batch 8: tens of MB each) every time and
// frees them at the end. glibc hands buffers that big to the kernel and back
// (mmap above its threshold, which stops growing at 32 MB; whole heaps of a
// thread's arena unmapped when they empty), so every pass page-faults all
// of its activations in again. On the 2-core machines this cost a third of
// ResNet-18's throughput, unevenly from one thread or process to the next.
//
// The allocator installed here keeps freed blocks of at least
// `kMinCachedBytes` in a free list, bounded by `limit_bytes` (ml.tensor_cache_mb,
// oldest freed evicted first), and hands them out again for a request of
// the same size (up to a quarter larger). Smaller blocks go straight to
// LibTorch's own CPU allocation. Every block is 64-byte aligned, as
// LibTorch's own.
//
// Process-wide and thread-safe: LibTorch has one CPU allocator per process.
// The first install sets it; later ones only change the limit.

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
// `limit_bytes` of free blocks. Call it before LibTorch computes anything
// (first thing in main): a buffer LibTorch's own allocator handed to oneDNN
// must not be freed through this one. 0 leaves LibTorch's own allocator in
// place, or once installed, frees what is cached and caches nothing more.
void install_tensor_allocator(std::size_t limit_bytes);

TensorCacheStats tensor_cache_stats();

// Frees every cached block (e.g. after a large job is done).
void release_tensor_cache();

}  // namespace idunno::ml
