// The block store under disk faults: a crash at any step leaves the block
// absent or whole (never visible and damaged), torn content is reported as
// corruption, a full disk and I/O errors surface as DiskError with nothing
// left behind, and an I/O error is never mistaken for corruption.

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <memory>

#include "core/fake_disk.hpp"
#include "fs/block_store.hpp"
#include "fs/block_store_test_util.hpp"

namespace idunno::fs {
namespace {

using core::DiskOp;
using core::FakeDisk;
using test::content;
using test::read_all;
using test::read_range;
using test::write_block;

constexpr std::uint32_t kChunk = 16;
const std::filesystem::path kRoot = "/node";

std::unique_ptr<BlockStore> open_store(FakeDisk& disk) { return std::make_unique<BlockStore>(disk, kRoot, kChunk); }

void expect_disk_error(int code, const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "no DiskError";
  } catch (const core::DiskError& e) {
    EXPECT_EQ(e.errno_code(), code) << e.what();
  }
}

void expect_nothing_left(FakeDisk& disk, BlockStore& store, std::string_view name, std::uint64_t version) {
  EXPECT_FALSE(store.contains(name, version));
  EXPECT_THROW(store.open(name, version), BlockNotFound);
  EXPECT_TRUE(disk.list(kRoot / "tmp").empty());
}

TEST(BlockStoreFaults, ACrashBeforeFinishLeavesNoBlockAndATemporaryThatIsCleared) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 4, 1);
  {
    auto writer = store->begin_write("f", 1, data.size());
    writer->append(std::span(data).first(40));
    disk.crash_at(0);
    EXPECT_THROW(writer->append(std::span(data).subspan(40)), core::DiskCrashed);
  }  // the writer's cleanup meets a dead disk and gives up quietly
  disk.restart(FakeDisk::Restart::keep_written);  // the page cache kept the temporary file
  store = open_store(disk);
  EXPECT_FALSE(store->contains("f", 1));
  EXPECT_TRUE(store->list().blocks.empty());
  EXPECT_EQ(disk.list(kRoot / "tmp").size(), 1u);
  EXPECT_EQ(store->clear_temporaries(), 1u);
  EXPECT_TRUE(disk.list(kRoot / "tmp").empty());
  disk.restart(FakeDisk::Restart::lose_unsynced);
  EXPECT_TRUE(disk.list(kRoot / "tmp").empty());  // the removal was durable
}

TEST(BlockStoreFaults, ABlockFinishedBeforeACrashIsPresentAndVerifies) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 3 + 1, 2);
  const auto info = write_block(*store, "f", 1, data);
  disk.crash_at(0);
  EXPECT_THROW(store->begin_write("g", 1, 10)->append(content(10, 3)), core::DiskCrashed);
  disk.restart(FakeDisk::Restart::lose_unsynced);
  store = open_store(disk);
  EXPECT_EQ(store->verify("f", 1), info);
  EXPECT_EQ(read_all(*store, "f", 1), data);
  EXPECT_EQ(store->list().blocks, std::vector<BlockInfo>{info});
}

// Crashes at every mutating operation of a write, with each kind of restart:
// afterwards the block is absent or whole, and no temporary survives
// clear_temporaries().
TEST(BlockStoreFaults, ACrashAtAnyStepLeavesTheBlockAbsentOrWhole) {
  const auto data = content(16 * 3 + 5, 4);
  std::uint64_t steps = 0;
  BlockInfo expected;
  {
    FakeDisk disk;
    auto store = open_store(disk);
    const auto before = disk.mutating_ops();
    expected = write_block(*store, "f", 1, data, 10);
    steps = disk.mutating_ops() - before;
  }
  ASSERT_GE(steps, 8u);  // open, header, 4 chunks, footer, sync, rename, sync dir
  for (const auto how :
       {FakeDisk::Restart::lose_unsynced, FakeDisk::Restart::keep_written, FakeDisk::Restart::keep_unsynced_prefix}) {
    int present = 0;
    for (std::uint64_t step = 0; step < steps; ++step) {
      SCOPED_TRACE("restart " + std::to_string(static_cast<int>(how)) + " crash at step " + std::to_string(step));
      FakeDisk disk;
      auto store = open_store(disk);
      disk.crash_at(step);
      EXPECT_THROW(write_block(*store, "f", 1, data, 10), core::DiskCrashed);
      disk.restart(how);
      store = open_store(disk);
      store->clear_temporaries();
      EXPECT_TRUE(disk.list(kRoot / "tmp").empty());
      const auto listing = store->list();
      EXPECT_TRUE(listing.bad.empty());
      if (store->contains("f", 1)) {
        ++present;
        EXPECT_EQ(store->verify("f", 1), expected);
        EXPECT_EQ(read_all(*store, "f", 1), data);
        EXPECT_EQ(listing.blocks, std::vector<BlockInfo>{expected});
      } else {
        EXPECT_TRUE(listing.blocks.empty());
      }
    }
    // Once the rename is durable (only at the last step's crash with
    // keep_written, which keeps the rename) the block is there.
    EXPECT_EQ(present, how == FakeDisk::Restart::keep_written ? 1 : 0);
  }
}

TEST(BlockStoreFaults, TornContentInABlockFileIsReportedNotServed) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 4, 5);
  write_block(*store, "torn", 1, data);
  const auto path = store->block_path("torn", 1);
  const auto good = *disk.content(path);
  const auto layout = BlockLayout::of(4, data.size(), kChunk);

  // The second half of chunk 2 and everything after it never reached the
  // platter: zeros where they were, the length kept.
  auto torn = good;
  const auto from = layout.chunk_offset(2) + kChunk / 2;
  torn.replace(from, layout.footer_offset() - from, layout.footer_offset() - from, '\0');
  disk.put_durable(path, torn);
  auto reader = store->open("torn", 1);
  EXPECT_EQ(read_range(*reader, 0, 32), std::vector<std::uint8_t>(data.begin(), data.begin() + 32));
  try {
    read_range(*reader, 32, 32);
    FAIL() << "served a torn chunk";
  } catch (const CorruptBlock& e) {
    EXPECT_EQ(e.chunk(), 2u);
  }

  // Cut in the middle of chunk 1: a torn file whose length is wrong.
  disk.put_durable(path, good.substr(0, layout.chunk_offset(1) + 5));
  EXPECT_THROW(store->open("torn", 1), CorruptBlock);
  EXPECT_EQ(store->list().bad, std::vector<std::string>{BlockStore::block_key("torn", 1) + ".blk"});
}

TEST(BlockStoreFaults, ATornTemporaryFromAPowerCutIsNeverSeenAsABlock) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 6, 6);
  auto writer = store->begin_write("f", 1, data.size());
  writer->append(data);
  disk.crash_at(0);  // the footer write is torn
  EXPECT_THROW(writer->finish(), core::DiskCrashed);
  writer.reset();
  disk.restart(FakeDisk::Restart::keep_written);
  store = open_store(disk);
  EXPECT_FALSE(store->contains("f", 1));
  EXPECT_TRUE(store->list().blocks.empty());
  EXPECT_EQ(store->clear_temporaries(), 1u);
}

TEST(BlockStoreFaults, NotEnoughFreeSpaceFailsBeginWriteAndLeavesNothing) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto needed = store->disk_bytes_for("f", 100);
  disk.set_capacity(needed - 1);
  expect_disk_error(ENOSPC, [&] { store->begin_write("f", 1, 100); });
  expect_nothing_left(disk, *store, "f", 1);
  disk.set_capacity(needed);  // exactly enough, overhead included
  write_block(*store, "f", 1, content(100, 7));
  EXPECT_EQ(disk.free_space(kRoot), 0u);
  EXPECT_EQ(read_all(*store, "f", 1), content(100, 7));
}

TEST(BlockStoreFaults, TheDiskFillingUpDuringAWriteFailsItAndLeavesNothing) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 10, 8);
  auto writer = store->begin_write("f", 1, data.size());
  writer->append(std::span(data).first(20));
  disk.set_capacity(disk.used_bytes() + 30);  // another writer took the rest
  expect_disk_error(ENOSPC, [&] {
    for (std::size_t at = 20; at < data.size(); at += 10) writer->append(std::span(data).subspan(at, 10));
  });
  expect_nothing_left(disk, *store, "f", 1);
  EXPECT_THROW(writer->append(std::span(data).first(1)), std::logic_error);
  EXPECT_THROW(writer->finish(), std::logic_error);

  // The disk fills up just before the footer.
  disk.set_capacity(std::uint64_t{1} << 30);
  auto second = store->begin_write("g", 1, 31);
  second->append(content(31, 9));  // chunk 0 is written, 15 bytes wait
  disk.set_capacity(disk.used_bytes() + 15 + kChunkChecksumBytes + kFooterBytes - 1);
  expect_disk_error(ENOSPC, [&] { second->finish(); });
  expect_nothing_left(disk, *store, "g", 1);

  disk.set_capacity(std::uint64_t{1} << 30);
  write_block(*store, "f", 1, data);  // the store is fine once there is room
  EXPECT_EQ(read_all(*store, "f", 1), data);
}

TEST(BlockStoreFaults, AnIoErrorOnReadIsADiskErrorNotCorruption) {
  FakeDisk disk;
  auto store = open_store(disk);
  const auto data = content(16 * 3, 10);
  write_block(*store, "f", 1, data);
  const auto key = BlockStore::block_key("f", 1);

  disk.inject({DiskOp::read, key, EIO, 1});
  expect_disk_error(EIO, [&] { store->open("f", 1); });  // the header read

  auto reader = store->open("f", 1);
  disk.inject({DiskOp::read, key, EIO, 1});
  try {
    read_range(*reader, 16, 8);
    FAIL() << "no error";
  } catch (const CorruptBlock&) {
    FAIL() << "an I/O error was reported as corruption";
  } catch (const core::DiskError& e) {
    EXPECT_EQ(e.errno_code(), EIO);
  }
  EXPECT_EQ(read_range(*reader, 0, data.size()), data);  // the error passed

  disk.inject({DiskOp::read, key, EIO, 1});
  expect_disk_error(EIO, [&] { store->list(); });  // not a "bad" file
  EXPECT_EQ(store->list().blocks.size(), 1u);
}

TEST(BlockStoreFaults, AnIoErrorWhileFinishingLeavesNoBlock) {
  for (const auto op : {DiskOp::write, DiskOp::sync, DiskOp::rename, DiskOp::sync_directory}) {
    SCOPED_TRACE("EIO on op " + std::to_string(static_cast<int>(op)));
    FakeDisk disk;
    auto store = open_store(disk);
    auto writer = store->begin_write("f", 1, 20);
    writer->append(content(20, 11));
    disk.inject({op, "", EIO, 1});
    expect_disk_error(EIO, [&] { writer->finish(); });
    expect_nothing_left(disk, *store, "f", 1);
    write_block(*store, "f", 1, content(20, 11));  // a retry works
    EXPECT_EQ(read_all(*store, "f", 1), content(20, 11));
  }
}

TEST(BlockStoreFaults, AbortAndAnAbandonedWriterRemoveTheTemporary) {
  FakeDisk disk;
  auto store = open_store(disk);
  auto writer = store->begin_write("f", 1, 50);
  writer->append(content(30, 12));
  EXPECT_EQ(disk.list(kRoot / "tmp").size(), 1u);
  writer->abort();
  expect_nothing_left(disk, *store, "f", 1);
  writer->abort();  // twice is fine
  EXPECT_THROW(writer->finish(), std::logic_error);

  store->begin_write("f", 1, 50)->append(content(30, 12));  // dropped unfinished
  expect_nothing_left(disk, *store, "f", 1);
}

TEST(BlockStoreFaults, AWrongSizeFailsTheWriteAndLeavesNothing) {
  FakeDisk disk;
  auto store = open_store(disk);
  auto longer = store->begin_write("f", 1, 10);
  longer->append(content(6, 1));
  EXPECT_THROW(longer->append(content(5, 1)), std::invalid_argument);
  expect_nothing_left(disk, *store, "f", 1);

  auto shorter = store->begin_write("f", 1, 10);
  shorter->append(content(9, 1));
  EXPECT_THROW(shorter->finish(), std::invalid_argument);
  expect_nothing_left(disk, *store, "f", 1);
}

}  // namespace
}  // namespace idunno::fs
