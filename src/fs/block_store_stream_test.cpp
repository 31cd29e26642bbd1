// Streaming on a real disk: a 64 MiB version goes in and out with the
// store never holding or asking the disk for more than one chunk at a time;
// and several threads use one store for different blocks at once.

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/fake_disk.hpp"
#include "fs/block_store.hpp"
#include "fs/block_store_test_util.hpp"

namespace idunno::fs {
namespace {

using test::byte_at;

TEST(BlockStoreStreaming, A64MiBWriteAndReadKeepMemoryToOneChunk) {
  constexpr std::uint64_t kSize = 64ull << 20;
  constexpr std::uint32_t kChunk = 1u << 20;
  constexpr std::uint64_t kSeed = 77;
  test::TempDir temp;
  test::CountingDisk disk(core::posix_disk());
  BlockStore store(disk, temp.path(), kChunk);

  auto writer = store.begin_write("datasets/big", 1, kSize);
  std::vector<std::uint8_t> piece(100'003);  // not a divisor of the chunk size
  std::size_t most_buffered = 0;
  for (std::uint64_t at = 0; at < kSize; at += piece.size()) {
    const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), kSize - at));
    for (std::size_t i = 0; i < length; ++i) piece[i] = byte_at(at + i, kSeed);
    writer->append(std::span(piece).first(length));
    most_buffered = std::max(most_buffered, writer->buffered_bytes());
    ASSERT_LE(writer->buffer_capacity(), kChunk + kChunkChecksumBytes);
  }
  const auto info = writer->finish();
  EXPECT_EQ(info.size, kSize);
  EXPECT_LT(most_buffered, kChunk);
  EXPECT_LE(disk.largest_write(), kChunk + kChunkChecksumBytes);
  EXPECT_EQ(disk.file_size(store.block_path("datasets/big", 1)), store.disk_bytes_for("datasets/big", kSize));

  auto reader = store.open("datasets/big", 1);
  disk.reset_counts();
  std::vector<std::uint8_t> out(256 << 10);
  std::uint64_t mismatches = 0;
  for (std::uint64_t at = 0; at < kSize; at += out.size()) {
    ASSERT_EQ(reader->read(at, out), out.size());
    for (std::size_t i = 0; i < out.size(); ++i) mismatches += out[i] != byte_at(at + i, kSeed) ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_LE(disk.largest_read(), std::uint64_t{kChunk} + kChunkChecksumBytes);
  // Four pieces to a chunk, and each chunk read (and hashed) once.
  EXPECT_EQ(disk.bytes_read(), kSize / kChunk * (kChunk + kChunkChecksumBytes));

  std::vector<std::uint8_t> small(100);
  disk.reset_counts();
  ASSERT_EQ(reader->read(kSize - 50, small), 50u);  // the tail of the last chunk, still kept
  EXPECT_EQ(disk.bytes_read(), 0u);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(small[i], byte_at(kSize - 50 + i, kSeed));
  disk.reset_counts();
  ASSERT_EQ(reader->read(kChunk - 50, small), 100u);  // the first two chunks
  EXPECT_EQ(disk.bytes_read(), 2 * (kChunk + kChunkChecksumBytes));
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(small[i], byte_at(kChunk - 50 + i, kSeed));

  disk.reset_counts();
  EXPECT_EQ(store.verify("datasets/big", 1), info);
  EXPECT_LE(disk.largest_read(), std::uint64_t{kChunk} + kChunkChecksumBytes);
  EXPECT_EQ(store.bytes_stored(), store.disk_bytes_for("datasets/big", kSize));
}

TEST(BlockStoreStreaming, SeveralThreadsUseOneStoreForDifferentBlocks) {
  core::FakeDisk disk;
  BlockStore store(disk, "/node", 64);
  constexpr int kThreads = 4;
  constexpr int kBlocks = 25;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      for (int b = 0; b < kBlocks; ++b) {
        const auto name = "t" + std::to_string(t) + "/b" + std::to_string(b);
        const auto data = test::content(static_cast<std::size_t>(b) * 37, static_cast<std::uint64_t>(t));
        const auto info = test::write_block(store, name, 1, data, 50);
        if (test::read_all(store, name, 1) != data || store.verify(name, 1) != info) ++failures[t];
        if (b % 5 == 0) store.remove(name, 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  EXPECT_EQ(store.list().blocks.size(), static_cast<std::size_t>(kThreads * (kBlocks - kBlocks / 5)));
  EXPECT_TRUE(disk.list("/node/tmp").empty());
}

}  // namespace
}  // namespace idunno::fs
