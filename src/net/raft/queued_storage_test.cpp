// QueuedStorage: writes land on disk in the order the core made them, a
// write the core expects durable at once makes the driver hold what follows
// until a sync, and a failed write fails the next sync.

#include "net/raft/queued_storage.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "core/coro_test.hpp"
#include "core/fake_disk.hpp"

namespace idunno::net {
namespace {

std::vector<raft::LogEntry> entries(raft::Index from, raft::Index to, raft::Term term) {
  std::vector<raft::LogEntry> out;
  for (auto i = from; i <= to; ++i) out.push_back({term, i, raft::EntryType::command, "e" + std::to_string(i)});
  return out;
}

class QueuedStorageTest : public testing::CoroutineTest {
 protected:
  void sync() {
    run(storage_.run([](raft::FileStorage& file) { file.sync(); }));
  }

  core::FakeDisk disk_;
  raft::FileStorage file_{disk_, "/n/raft"};
  core::ThreadPool pool_{1, "disk"};
  QueuedStorage storage_{file_, pool_, executor()};
};

TEST_F(QueuedStorageTest, WritesLandInTheOrderTheCoreMadeThem) {
  storage_.append(entries(1, 5, 1));
  storage_.truncate_after(2);
  storage_.append(entries(3, 4, 2));
  storage_.save_hard_state({2, "a"});
  sync();
  disk_.restart(core::FakeDisk::Restart::lose_unsynced);
  const auto state = raft::FileStorage(disk_, "/n/raft").load();
  auto expected = entries(1, 2, 1);
  for (auto& e : entries(3, 4, 2)) expected.push_back(e);
  EXPECT_EQ(state.entries, expected);
  EXPECT_EQ(state.hard_state, (raft::HardState{2, "a"}));
}

TEST_F(QueuedStorageTest, WritesTheCoreTakesAsDurableAtOnceMakeTheDriverHoldItsOutputs) {
  storage_.append(entries(1, 3, 1));
  EXPECT_FALSE(storage_.take_owed());  // the core calls sync() for appends
  storage_.truncate_after(2);
  EXPECT_TRUE(storage_.take_owed());
  auto snapshot = std::make_shared<raft::Snapshot>();
  snapshot->meta.last_index = 2;
  snapshot->meta.last_term = 1;
  snapshot->data = "s";
  storage_.save_shared_snapshot(snapshot);
  EXPECT_TRUE(storage_.take_owed());
  storage_.compact(1, 1);
  EXPECT_TRUE(storage_.take_owed());
  storage_.reset_log(2, 1);
  EXPECT_TRUE(storage_.take_owed());
  sync();
  EXPECT_EQ(raft::FileStorage(disk_, "/n/raft").load().log_start, 2u);
}

TEST_F(QueuedStorageTest, AFailedWriteFailsTheNextSyncAndEveryOneAfter) {
  disk_.inject({core::DiskOp::write, "raft/log", EIO, 1});
  storage_.append(entries(1, 1, 1));
  storage_.append(entries(2, 2, 1));
  for (int i = 0; i < 2; ++i) {
    try {
      sync();
      FAIL() << "a sync after a failed write succeeded";
    } catch (const core::DiskError& e) {
      EXPECT_EQ(e.errno_code(), EIO);
    }
  }
}

}  // namespace
}  // namespace idunno::net
