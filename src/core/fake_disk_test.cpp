// FakeDisk keeps the durability rules a real disk keeps (and no more), so
// that what a storage test proves with it holds on a real disk; PosixDisk
// does what the seam promises on the real one.

#include "core/fake_disk.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace idunno::core {
namespace {

using Restart = FakeDisk::Restart;

void write_file(Disk& disk, const std::string& path, const std::string& content, bool sync) {
  auto file = disk.open(path, Disk::Open::create_truncated);
  file->write(0, content);
  if (sync) file->sync();
}

TEST(FakeDisk, PowerLossKeepsSyncedDataAndDropsTheRest) {
  FakeDisk disk;
  disk.create_directories("/d");
  write_file(disk, "/d/a", "durable", true);
  disk.sync_directory("/d");
  auto file = disk.open("/d/a", Disk::Open::existing);
  file->write(7, "+written");
  EXPECT_EQ(file->read_all(), "durable+written");
  disk.restart(Restart::lose_unsynced);
  EXPECT_EQ(disk.content("/d/a"), "durable");
  EXPECT_THROW(file->size(), DiskCrashed);  // opened before the crash
}

TEST(FakeDisk, ANewNameIsDurableOnlyAfterItsDirectoryIsSynced) {
  FakeDisk disk;
  disk.create_directories("/d");
  write_file(disk, "/d/new", "x", true);
  disk.restart(Restart::lose_unsynced);
  EXPECT_FALSE(disk.exists("/d/new"));
  EXPECT_TRUE(disk.exists("/d"));  // create_directories is durable

  write_file(disk, "/d/file", "old", true);
  disk.sync_directory("/d");
  write_file(disk, "/d/file.tmp", "new", true);
  disk.rename("/d/file.tmp", "/d/file");
  EXPECT_EQ(disk.content("/d/file"), "new");
  disk.restart(Restart::lose_unsynced);
  EXPECT_EQ(disk.content("/d/file"), "old");  // the rename was not synced

  write_file(disk, "/d/file.tmp", "new", true);
  disk.rename("/d/file.tmp", "/d/file");
  disk.sync_directory("/d");
  disk.restart(Restart::lose_unsynced);
  EXPECT_EQ(disk.content("/d/file"), "new");
  EXPECT_FALSE(disk.exists("/d/file.tmp"));
  disk.remove("/d/file");
  disk.restart(Restart::lose_unsynced);
  EXPECT_TRUE(disk.exists("/d/file"));  // the removal was not synced
}

TEST(FakeDisk, ACrashPointTearsTheWriteItLandsOnAndStopsEverything) {
  FakeDisk disk;
  disk.create_directories("/d");
  write_file(disk, "/d/a", "", true);
  disk.sync_directory("/d");
  auto file = disk.open("/d/a", Disk::Open::existing);
  disk.crash_at(1);
  file->write(0, "first");  // op 0 goes through
  EXPECT_THROW(file->write(5, "12345678"), DiskCrashed);
  EXPECT_TRUE(disk.crashed());
  EXPECT_THROW(file->sync(), DiskCrashed);
  EXPECT_THROW(disk.open("/d/b", Disk::Open::create), DiskCrashed);
  disk.restart(Restart::keep_written);  // kill -9: the page cache survives
  EXPECT_EQ(disk.content("/d/a"), "first1234");
  EXPECT_FALSE(disk.crashed());
  disk.open("/d/b", Disk::Open::create);  // usable again
}

TEST(FakeDisk, PowerLossInTheMiddleOfWriteBackKeepsAPrefixOfTheUnsyncedWrites) {
  FakeDisk disk;
  disk.create_directories("/d");
  write_file(disk, "/d/a", "base", true);
  disk.sync_directory("/d");
  auto file = disk.open("/d/a", Disk::Open::existing);
  file->write(4, "abcd");
  file->write(8, "efgh");
  disk.restart(Restart::keep_unsynced_prefix);
  EXPECT_EQ(disk.content("/d/a"), "baseabcd");  // half of the 8 unsynced bytes
}

TEST(FakeDisk, CapacityStoresWhatFitsThenFailsWithEnospc) {
  FakeDisk disk;
  disk.create_directories("/d");
  disk.set_capacity(10);
  auto file = disk.open("/d/a", Disk::Open::create);
  file->write(0, "123456");
  EXPECT_EQ(disk.free_space("/d"), 4u);
  try {
    file->write(6, "abcdefgh");
    FAIL() << "no ENOSPC";
  } catch (const DiskError& e) {
    EXPECT_EQ(e.errno_code(), ENOSPC);
    EXPECT_EQ(e.path(), "/d/a");
  }
  EXPECT_EQ(file->read_all(), "123456abcd");
  file->write(0, "XY");  // overwriting needs no room
  EXPECT_EQ(disk.free_space("/d"), 0u);
}

TEST(FakeDisk, AnInjectedErrorHitsOnlyTheMatchingOperationAndPathThenClears) {
  FakeDisk disk;
  disk.create_directories("/d");
  auto a = disk.open("/d/a", Disk::Open::create);
  auto b = disk.open("/d/b", Disk::Open::create);
  disk.inject({DiskOp::sync, "/d/b", EIO, 2});
  a->write(0, "x");
  a->sync();
  b->write(0, "y");  // a write, not a sync
  for (int i = 0; i < 2; ++i) {
    try {
      b->sync();
      FAIL() << "no EIO";
    } catch (const DiskError& e) {
      EXPECT_EQ(e.errno_code(), EIO);
      EXPECT_EQ(e.operation(), "sync");
    }
  }
  b->sync();
  disk.sync_directory("/d");
  disk.restart(Restart::lose_unsynced);
  EXPECT_EQ(disk.content("/d/b"), "y");
}

TEST(FakeDisk, ListsNamesAndReportsMissingOnes) {
  FakeDisk disk;
  disk.create_directories("/d/sub");
  write_file(disk, "/d/b", "", false);
  write_file(disk, "/d/a", "", false);
  EXPECT_EQ(disk.list("/d"), (std::vector<std::string>{"a", "b", "sub"}));
  EXPECT_THROW(disk.open("/d/missing", Disk::Open::existing), DiskError);
  EXPECT_THROW(disk.open("/nodir/x", Disk::Open::create), DiskError);
}

TEST(PosixDisk, KeepsThePromisesOfTheSeam) {
  auto& disk = posix_disk();
  const auto dir = std::filesystem::temp_directory_path() / ("idunno-disk-" + std::to_string(::getpid())) / "x";
  std::filesystem::remove_all(dir.parent_path());
  disk.create_directories(dir);
  replace_file(disk, dir / "f", std::vector<std::string_view>{"he", "llo"});
  EXPECT_EQ(disk.open(dir / "f", Disk::Open::existing)->read_all(), "hello");
  EXPECT_EQ(disk.file_size(dir / "f"), 5u);
  EXPECT_EQ(disk.list(dir), (std::vector<std::string>{"f"}));
  EXPECT_GT(disk.free_space(dir), 0u);
  try {
    disk.remove(dir / "missing");
    FAIL() << "removed a missing file";
  } catch (const DiskError& e) {
    EXPECT_EQ(e.errno_code(), ENOENT);
    EXPECT_EQ(e.path(), dir / "missing");
  }
  std::filesystem::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace idunno::core
