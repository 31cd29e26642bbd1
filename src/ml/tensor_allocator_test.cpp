// The tensor cache behind LibTorch's CPU allocator: blocks come back for
// the next request of their size, the limit holds, small blocks bypass it,
// and a steady stream of forward passes stops allocating.
#include "ml/tensor_allocator.hpp"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "ml/base/batch.hpp"
#include "ml/inference.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Other tests in this binary may have installed the cache with another
// limit: each test here starts from 64 MiB and nothing cached, and puts the
// limit back.
class TensorAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_limit_ = tensor_cache_stats().limit_bytes;
    install_tensor_allocator(64 * kMiB);
    release_tensor_cache();
  }
  void TearDown() override {
    if (previous_limit_ > 0) install_tensor_allocator(previous_limit_);
  }

  static c10::Allocator& allocator() { return *c10::GetCPUAllocator(); }

  std::size_t previous_limit_ = 0;
};

TEST_F(TensorAllocatorTest, FreedLargeBlockServesTheNextRequestOfItsSize) {
  const auto before = tensor_cache_stats();
  ASSERT_TRUE(before.installed);
  void* first = nullptr;
  {
    auto block = allocator().allocate(kMiB);
    first = block.get();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 4096, 0U);  // page-aligned
    std::memset(first, 1, kMiB);  // all of it is ours to write
  }
  EXPECT_GE(tensor_cache_stats().cached_bytes, kMiB);
  auto again = allocator().allocate(kMiB - 100);  // same pages
  EXPECT_EQ(again.get(), first);
  const auto after = tensor_cache_stats();
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.misses, before.misses + 1);
  EXPECT_EQ(after.cached_bytes, 0U);
}

TEST_F(TensorAllocatorTest, ABlockServesRequestsUpToAQuarterSmaller) {
  { auto block = allocator().allocate(2 * kMiB); }
  auto before = tensor_cache_stats();
  auto half = allocator().allocate(kMiB);  // would waste half the block: allocates
  EXPECT_EQ(tensor_cache_stats().misses, before.misses + 1);
  EXPECT_EQ(tensor_cache_stats().cached_bytes, before.cached_bytes);
  auto bigger = allocator().allocate(3 * kMiB);  // larger than anything cached
  EXPECT_EQ(tensor_cache_stats().misses, before.misses + 2);
  { auto block = allocator().allocate(kMiB + kMiB / 5); }
  before = tensor_cache_stats();
  auto close = allocator().allocate(kMiB);  // 20% smaller than the cached one
  EXPECT_EQ(tensor_cache_stats().hits, before.hits + 1);
}

TEST_F(TensorAllocatorTest, SmallAndEmptyBlocksAreNotCached) {
  { auto small = allocator().allocate(kMinCachedBytes / 2); }
  {
    auto empty = allocator().allocate(0);
    EXPECT_EQ(empty.get(), nullptr);
  }
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 0U);
}

TEST_F(TensorAllocatorTest, ImpossibleSizeThrows) {
  EXPECT_THROW(allocator().allocate(SIZE_MAX), c10::Error);
  EXPECT_THROW(allocator().allocate(SIZE_MAX - 100), c10::Error);
}

TEST_F(TensorAllocatorTest, RawInterfaceRoundTrips) {
  // oneDNN's buffers come and go through the raw interface, freed by the
  // same deleter that allocate() attaches.
  auto block = allocator().allocate(kMiB);
  EXPECT_EQ(block.get_deleter(), allocator().raw_deleter());
  void* raw = allocator().raw_allocate(3 * kMiB);
  ASSERT_NE(raw, nullptr);
  std::memset(raw, 0, 3 * kMiB);
  allocator().raw_deallocate(raw);
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 3 * kMiB);
  void* small = allocator().raw_allocate(100);
  allocator().raw_deallocate(small);
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 3 * kMiB);
}

TEST_F(TensorAllocatorTest, BuffersOfLibTorchsOwnAllocatorAreFreedAsItWould) {
  // Allocated before the install, freed after it through ours: never
  // cached, never misread (AddressSanitizer checks the frees).
  c10::Allocator& original = *c10::GetDefaultCPUAllocator();
  ASSERT_NE(&original, &allocator());
  for (const std::size_t size : {std::size_t{100}, kMiB, 8 * kMiB}) {
    void* foreign = original.raw_allocate(size);
    std::memset(foreign, 1, size);
    allocator().raw_deallocate(foreign);
  }
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 0U);
}

TEST_F(TensorAllocatorTest, LimitEvictsTheOldestFreedBlocks) {
  install_tensor_allocator(3 * kMiB);
  std::vector<c10::DataPtr> blocks;
  std::vector<void*> addresses;
  for (std::size_t i = 0; i < 4; ++i) {
    blocks.push_back(allocator().allocate(kMiB));
    addresses.push_back(blocks.back().get());
  }
  const auto before = tensor_cache_stats();
  for (auto& block : blocks) block.clear();  // freed in order: the first goes when the fourth arrives
  blocks.clear();
  const auto after = tensor_cache_stats();
  EXPECT_EQ(after.cached_bytes, 3 * kMiB);
  EXPECT_EQ(after.cached_blocks, 3U);
  EXPECT_EQ(after.evictions, before.evictions + 1);
  // The three kept are the three freed last.
  std::vector<void*> reused;
  for (int i = 0; i < 3; ++i) blocks.push_back(allocator().allocate(kMiB));
  for (const auto& block : blocks) reused.push_back(block.get());
  for (std::size_t i = 1; i < 4; ++i) EXPECT_NE(std::find(reused.begin(), reused.end(), addresses[i]), reused.end());
}

TEST_F(TensorAllocatorTest, ZeroLimitFreesWhatIsCached) {
  { auto block = allocator().allocate(2 * kMiB); }
  ASSERT_GT(tensor_cache_stats().cached_bytes, 0U);
  install_tensor_allocator(0);
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 0U);
  { auto block = allocator().allocate(2 * kMiB); }
  EXPECT_EQ(tensor_cache_stats().cached_bytes, 0U);
}

TEST_F(TensorAllocatorTest, ConcurrentThreadsGetDistinctBlocks) {
  // Each thread fills its blocks with its own byte and checks them before
  // freeing: a block handed to two holders at once would show.
  const auto before = tensor_cache_stats();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_int_distribution<std::size_t> size(kMinCachedBytes / 2, 4 * kMiB);
      for (int i = 0; i < 300; ++i) {
        const std::size_t n = size(rng);
        auto block = allocator().allocate(n);
        auto* bytes = static_cast<unsigned char*>(block.get());
        std::memset(bytes, t + 1, n);
        std::this_thread::yield();
        if (bytes[0] != t + 1 || bytes[n / 2] != t + 1 || bytes[n - 1] != t + 1) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_GT(tensor_cache_stats().hits, before.hits);
}

TEST_F(TensorAllocatorTest, RepeatedForwardPassesStopAllocating) {
  const auto model = make_zoo_model("resnet-fmnist", 1);
  Batch batch;
  batch.shape = model->info().input;
  batch.values.assign(32 * static_cast<std::size_t>(batch.shape.elements()), 0.5F);
  batch.indices.assign(32, 0);
  batch.labels.assign(32, -1);
  const auto first = run_batch(*model, batch);
  run_batch(*model, batch);  // the first passes settle what they need
  const auto before = tensor_cache_stats();
  for (int i = 0; i < 3; ++i) {
    const auto again = run_batch(*model, batch);
    ASSERT_EQ(again.predictions.size(), first.predictions.size());
    EXPECT_EQ(again.predictions[0].label, first.predictions[0].label);
  }
  const auto after = tensor_cache_stats();
  EXPECT_GT(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses) << "a steady forward pass should reuse every large buffer";
}

}  // namespace
}  // namespace idunno::ml
