// The block store keeps what it was given and proves it on every read: round
// trips at every size around the chunk boundaries, range reads that touch
// only their chunks, damage reported for exactly the damaged chunk, and
// listing after a restart. Each test runs on the fake disk and on a real
// temporary directory.

#include "fs/block_store.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>

#include "core/fake_disk.hpp"
#include "fs/block_store_test_util.hpp"

namespace idunno::fs {
namespace {

using test::content;
using test::read_all;
using test::read_range;
using test::write_block;

constexpr std::uint32_t kChunk = 16;

enum class DiskKind { fake, posix };

class BlockStoreTest : public ::testing::TestWithParam<DiskKind> {
 protected:
  void SetUp() override {
    if (GetParam() == DiskKind::fake) {
      disk_ = &fake_;
      root_ = "/node";
    } else {
      temp_.emplace();
      disk_ = &core::posix_disk();
      root_ = temp_->path() / "node";
    }
    store_ = make_store();
  }

  std::unique_ptr<BlockStore> make_store(std::uint32_t chunk = kChunk) {
    return std::make_unique<BlockStore>(*disk_, root_, chunk);
  }

  // Overwrites bytes of a block's file in place, as a failing disk would.
  void damage(std::string_view name, std::uint64_t version, std::uint64_t offset, std::string_view bytes) {
    disk_->open(store_->block_path(name, version), core::Disk::Open::existing)->write(offset, bytes);
  }
  void cut(std::string_view name, std::uint64_t version, std::uint64_t size) {
    disk_->open(store_->block_path(name, version), core::Disk::Open::existing)->truncate(size);
  }
  std::string file_byte(std::string_view name, std::uint64_t version, std::uint64_t offset) {
    return disk_->open(store_->block_path(name, version), core::Disk::Open::existing)->read(offset, 1);
  }

  core::FakeDisk fake_;
  std::optional<test::TempDir> temp_;
  core::Disk* disk_ = nullptr;
  std::filesystem::path root_;
  std::unique_ptr<BlockStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Disks, BlockStoreTest, ::testing::Values(DiskKind::fake, DiskKind::posix),
                         [](const auto& param_info) {
                           return param_info.param == DiskKind::fake ? "FakeDisk" : "PosixDisk";
                         });

TEST_P(BlockStoreTest, RoundTripsEverySizeAroundTheChunkBoundaries) {
  for (const std::size_t size : {0, 1, 15, 16, 17, 32, 16 * 5 + 3}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const auto data = content(size, size);
    const auto info = write_block(*store_, "file", size + 1, data);
    EXPECT_EQ(info.name, "file");
    EXPECT_EQ(info.version, size + 1);
    EXPECT_EQ(info.size, size);
    EXPECT_EQ(read_all(*store_, "file", size + 1), data);
    EXPECT_EQ(store_->open("file", size + 1)->info(), info);
    EXPECT_EQ(store_->verify("file", size + 1), info);
    EXPECT_EQ(disk_->file_size(store_->block_path("file", size + 1)), store_->disk_bytes_for("file", size));
  }
}

TEST_P(BlockStoreTest, ChecksumIsTheXxh3OfTheWholeContentWhateverThePieces) {
  const auto data = content(100, 1);
  const auto in_sevens = write_block(*store_, "a", 1, data, 7);
  const auto at_once = write_block(*store_, "b", 1, data, data.size());
  EXPECT_EQ(in_sevens.checksum, at_once.checksum);
  auto other = data;
  other[50] ^= 1;
  EXPECT_NE(write_block(*store_, "c", 1, other).checksum, in_sevens.checksum);
}

TEST_P(BlockStoreTest, RangeReadsAtChunkBoundariesReturnExactlyTheRange) {
  const auto data = content(16 * 4 + 5, 3);
  write_block(*store_, "ranges", 1, data);
  auto reader = store_->open("ranges", 1);
  const auto expect = [&](std::uint64_t offset, std::size_t length) {
    SCOPED_TRACE("offset " + std::to_string(offset) + " length " + std::to_string(length));
    const auto end = std::min<std::size_t>(data.size(), offset + length);
    const std::vector<std::uint8_t> want(data.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(offset, end)),
                                         data.begin() + static_cast<std::ptrdiff_t>(end));
    EXPECT_EQ(read_range(*reader, offset, length), want);
  };
  for (const std::uint64_t offset : {0, 1, 15, 16, 17, 31, 32, 48, 63, 64, 68}) {
    for (const std::size_t length : {1, 15, 16, 17, 33, 100}) expect(offset, length);
  }
  expect(69, 10);  // at the end: nothing
  expect(500, 10);
  expect(3, 0);
}

TEST_P(BlockStoreTest, ARangeReadReadsOnlyTheChunksItCovers) {
  test::CountingDisk counting(*disk_);
  BlockStore store(counting, root_, kChunk);
  write_block(store, "big", 1, content(16 * 100, 4));
  auto reader = store.open("big", 1);
  counting.reset_counts();
  read_range(*reader, 16 * 40 + 3, 5);  // inside chunk 40
  EXPECT_EQ(counting.bytes_read(), kChunk + kChunkChecksumBytes);
  counting.reset_counts();
  read_range(*reader, 16 * 40 + 10, 10);  // chunks 40 (kept from the last read) and 41
  EXPECT_EQ(counting.bytes_read(), kChunk + kChunkChecksumBytes);
  counting.reset_counts();
  read_range(*reader, 16 * 39 + 10, 10);  // chunks 39 and 40 (41 is the one kept now)
  EXPECT_EQ(counting.bytes_read(), 2 * (kChunk + kChunkChecksumBytes));
}

TEST_P(BlockStoreTest, AFlippedDataByteFailsOnlyItsChunk) {
  const std::string name = "flip";
  const auto data = content(16 * 5, 5);
  write_block(*store_, name, 1, data);
  const auto layout = BlockLayout::of(name.size(), data.size(), kChunk);
  const auto at = layout.chunk_offset(2) + 3;
  damage(name, 1, at, std::string(1, static_cast<char>(file_byte(name, 1, at)[0] ^ 0x20)));

  auto reader = store_->open(name, 1);  // the header and footer are fine
  try {
    read_range(*reader, 16 * 2 + 10, 1);
    FAIL() << "served a damaged chunk";
  } catch (const CorruptBlock& e) {
    EXPECT_EQ(e.name(), name);
    EXPECT_EQ(e.version(), 1u);
    EXPECT_EQ(e.chunk(), 2u);
    EXPECT_EQ(e.reason(), "checksum mismatch");
  }
  EXPECT_THROW(read_range(*reader, 0, data.size()), CorruptBlock);  // a range over it
  for (const std::uint64_t chunk : {0, 1, 3, 4}) {
    const auto want = std::vector<std::uint8_t>(data.begin() + static_cast<std::ptrdiff_t>(chunk * 16),
                                                data.begin() + static_cast<std::ptrdiff_t>(chunk * 16 + 16));
    EXPECT_EQ(read_range(*reader, chunk * 16, 16), want) << "chunk " << chunk;
  }
  try {
    store_->verify(name, 1);
    FAIL() << "verify passed a damaged block";
  } catch (const CorruptBlock& e) {
    EXPECT_EQ(e.chunk(), 2u);
  }
}

TEST_P(BlockStoreTest, ADamagedChunkChecksumFailsItsChunk) {
  write_block(*store_, "sum", 1, content(40, 6));
  const auto layout = BlockLayout::of(3, 40, kChunk);
  damage("sum", 1, layout.chunk_offset(1) + kChunk, "\xff");
  auto reader = store_->open("sum", 1);
  EXPECT_EQ(read_range(*reader, 0, 16), std::vector<std::uint8_t>(content(16, 6)));
  try {
    read_range(*reader, 16, 1);
    FAIL() << "served a chunk whose checksum is damaged";
  } catch (const CorruptBlock& e) {
    EXPECT_EQ(e.chunk(), 1u);
  }
}

TEST_P(BlockStoreTest, ATruncatedFileIsCorruptAtOpenAndListedAsBad) {
  const auto data = content(16 * 3, 7);
  const auto full = store_->disk_bytes_for("cut", data.size());
  for (const std::uint64_t size : {full - 1, full - kFooterBytes, std::uint64_t{40} + 16 + 4, std::uint64_t{10}}) {
    SCOPED_TRACE("cut to " + std::to_string(size));
    write_block(*store_, "cut", 1, data);
    cut("cut", 1, size);
    try {
      store_->open("cut", 1);
      FAIL() << "opened a truncated block";
    } catch (const CorruptBlock& e) {
      EXPECT_EQ(e.chunk(), std::nullopt);
    }
    EXPECT_THROW(store_->verify("cut", 1), CorruptBlock);
    const auto listing = store_->list();
    EXPECT_TRUE(listing.blocks.empty());
    EXPECT_EQ(listing.bad, std::vector<std::string>{BlockStore::block_key("cut", 1) + ".blk"});
  }
}

TEST_P(BlockStoreTest, ADamagedHeaderOrFooterIsCorruptAtOpen) {
  const auto data = content(20, 8);
  const auto size = store_->disk_bytes_for("hf", data.size());
  for (const std::uint64_t at : {std::uint64_t{0}, std::uint64_t{17}, std::uint64_t{33}, size - 20, size - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    write_block(*store_, "hf", 1, data);
    damage("hf", 1, at, std::string(1, static_cast<char>(file_byte("hf", 1, at)[0] ^ 1)));
    EXPECT_THROW(store_->open("hf", 1), CorruptBlock);
    EXPECT_EQ(store_->list().bad.size(), 1u);
  }
}

TEST_P(BlockStoreTest, AMissingBlockIsNotFound) {
  EXPECT_FALSE(store_->contains("nothing", 1));
  try {
    store_->open("nothing", 1);
    FAIL() << "opened a missing block";
  } catch (const BlockNotFound& e) {
    EXPECT_EQ(e.name(), "nothing");
    EXPECT_EQ(e.version(), 1u);
  }
  EXPECT_THROW(store_->verify("nothing", 2), BlockNotFound);
  write_block(*store_, "nothing", 1, content(3, 1));
  EXPECT_TRUE(store_->contains("nothing", 1));
  EXPECT_FALSE(store_->contains("nothing", 2));
  store_->remove("nothing", 1);
  store_->remove("nothing", 1);  // missing is fine
  EXPECT_FALSE(store_->contains("nothing", 1));
  EXPECT_THROW(store_->open("nothing", 1), BlockNotFound);
}

TEST_P(BlockStoreTest, ListRecoversNamesAndVersionsAfterARestart) {
  std::map<std::string, BlockInfo> written;
  for (const std::string name : {"models/job", "data/t10k-images", "../x", "π ≈ 3.14"}) {
    for (std::uint64_t version = 1; version <= 3; ++version) {
      const auto info = write_block(*store_, name, version, content(version * 11, version));
      written[BlockStore::block_key(name, version) + ".blk"] = info;
    }
  }
  store_->remove("../x", 2);
  written.erase(BlockStore::block_key("../x", 2) + ".blk");
  disk_->open(root_ / "blocks" / "stray.blk", core::Disk::Open::create)->write(0, "not a block");
  // A whole block under the wrong key: it must not be served as another.
  disk_->rename(store_->block_path("models/job", 3), store_->block_path("models/job", 9));
  written.erase(BlockStore::block_key("models/job", 3) + ".blk");

  store_ = make_store(64);  // a restart, with another chunk size
  const auto listing = store_->list();
  std::vector<BlockInfo> want;
  for (const auto& [file, info] : written) want.push_back(info);
  EXPECT_EQ(listing.blocks, want);
  EXPECT_EQ(listing.bad, (std::vector<std::string>{BlockStore::block_key("models/job", 9) + ".blk", "stray.blk"}));
  EXPECT_THROW(store_->open("models/job", 9), CorruptBlock);
  for (const auto& info : want) EXPECT_EQ(store_->verify(info.name, info.version), info);  // old chunk size

  // Every file in blocks/: the listed blocks, the stray file, the misplaced block.
  std::uint64_t on_disk = 11 + BlockLayout::of(10, 33, kChunk).file_size();
  for (const auto& info : want) on_disk += BlockLayout::of(info.name.size(), info.size, kChunk).file_size();
  EXPECT_EQ(store_->bytes_stored(), on_disk);
  for (const auto& bad : listing.bad) store_->discard_bad(bad);
  EXPECT_TRUE(store_->list().bad.empty());
  EXPECT_THROW(store_->discard_bad("../blocks"), std::invalid_argument);
}

TEST_P(BlockStoreTest, HostileNamesStayFlatFilesInsideTheBlockDirectory) {
  std::string long_utf8;
  while (long_utf8.size() + 3 <= 1024) long_utf8 += "日";
  const std::vector<std::string> names = {
      "../../etc/passwd",   "a/b",         "/abs/path", "..",      ".",
      "with spaces  in it", "back\\slash", "tab\tx",    long_utf8, std::string(4096, '/')};
  for (const auto& name : names) {
    const auto key = BlockStore::block_key(name, 1);
    EXPECT_EQ(key.size(), 34u) << key;
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), 32u) << key;
    EXPECT_EQ(key.substr(32), "-1");
    write_block(*store_, name, 1, content(name.size() % 50, 2));
    EXPECT_EQ(read_all(*store_, name, 1), content(name.size() % 50, 2));
  }
  EXPECT_NE(BlockStore::block_key("a/b", 1), BlockStore::block_key("a/b", 2));
  EXPECT_NE(BlockStore::block_key("a/b", 1), BlockStore::block_key("a\\b", 1));
  EXPECT_EQ(disk_->list(root_), (std::vector<std::string>{"blocks", "tmp"}));
  EXPECT_EQ(disk_->list(root_ / "blocks").size(), names.size());
  EXPECT_TRUE(disk_->list(root_ / "tmp").empty());
  if (GetParam() == DiskKind::posix) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(temp_->path())) {
      if (entry.is_directory()) continue;
      EXPECT_EQ(entry.path().parent_path(), root_ / "blocks") << entry.path();
    }
  } else {
    EXPECT_EQ(disk_->list("/"), std::vector<std::string>{"node"});
  }
  std::vector<std::string> listed;
  for (const auto& info : store_->list().blocks) listed.push_back(info.name);
  std::sort(listed.begin(), listed.end());
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listed, sorted);
  EXPECT_THROW(store_->begin_write("", 1, 0), std::invalid_argument);
  EXPECT_THROW(store_->begin_write(std::string(4097, 'x'), 1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace idunno::fs
