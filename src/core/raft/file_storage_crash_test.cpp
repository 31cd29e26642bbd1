// FileStorage on a FakeDisk: a crash at every disk operation of a history of
// appends, truncations, snapshot saves, compactions and a log reset recovers
// to a consistent prefix (nothing acknowledged lost, nothing torn accepted,
// no mix of an old and a new version), and a full or failing disk is a clear
// error after which nothing more is written or vouched for.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fake_disk.hpp"
#include "core/raft/file_storage.hpp"

namespace idunno::raft {
namespace {

using core::DiskCrashed;
using core::DiskError;
using core::DiskOp;
using core::FakeDisk;
using Restart = FakeDisk::Restart;

const std::filesystem::path kDir = "/node/raft";

std::vector<LogEntry> entries(Index from, Index to, Term term) {
  std::vector<LogEntry> out;
  for (Index i = from; i <= to; ++i) {
    out.push_back(LogEntry{term, i, EntryType::command, std::string(40, 'a' + static_cast<char>(i % 26))});
  }
  return out;
}

Snapshot snapshot_at(Index index, Term term) {
  return Snapshot{{index, term, Configuration{{{"a", "127.0.0.1:1"}}, {}}}, "state-as-of-" + std::to_string(index)};
}

// What the storage holds once a step has returned: the acknowledged state.
struct Model {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  Index log_start = 0;
  std::vector<LogEntry> entries;
};

struct Step {
  std::string name;
  std::function<void(std::unique_ptr<FileStorage>&, FakeDisk&)> run;
  std::function<void(Model&)> effect;
};

void add(Model& m, const std::vector<LogEntry>& more) { m.entries.insert(m.entries.end(), more.begin(), more.end()); }

std::vector<Step> history() {
  std::vector<Step> steps;
  steps.push_back({"create", [](auto& s, FakeDisk& disk) { s = std::make_unique<FileStorage>(disk, kDir); },
                   [](Model&) {}});
  steps.push_back({"vote and append 1..3",
                   [](auto& s, FakeDisk&) {
                     s->save_hard_state({1, "a"});
                     s->append(entries(1, 3, 1));
                     s->sync();
                   },
                   [](Model& m) {
                     m.hard_state = {1, "a"};
                     add(m, entries(1, 3, 1));
                   }});
  steps.push_back({"append 4..6",
                   [](auto& s, FakeDisk&) {
                     s->append(entries(4, 6, 1));
                     s->sync();
                   },
                   [](Model& m) { add(m, entries(4, 6, 1)); }});
  steps.push_back({"truncate after 4", [](auto& s, FakeDisk&) { s->truncate_after(4); },
                   [](Model& m) { m.entries.resize(4); }});
  steps.push_back({"new term, append 5..7",
                   [](auto& s, FakeDisk&) {
                     s->save_hard_state({2, "b"});
                     s->append(entries(5, 7, 2));
                     s->sync();
                   },
                   [](Model& m) {
                     m.hard_state = {2, "b"};
                     add(m, entries(5, 7, 2));
                   }});
  steps.push_back({"snapshot at 5", [](auto& s, FakeDisk&) { s->save_snapshot(snapshot_at(5, 2)); },
                   [](Model& m) { m.snapshot = snapshot_at(5, 2); }});
  steps.push_back({"compact through 3", [](auto& s, FakeDisk&) { s->compact(3, 1); },
                   [](Model& m) {
                     m.log_start = 3;
                     m.entries.erase(m.entries.begin(), m.entries.begin() + 3);
                   }});
  steps.push_back({"append 8..9",
                   [](auto& s, FakeDisk&) {
                     s->append(entries(8, 9, 2));
                     s->sync();
                   },
                   [](Model& m) { add(m, entries(8, 9, 2)); }});
  steps.push_back({"install snapshot at 12", [](auto& s, FakeDisk&) { s->save_snapshot(snapshot_at(12, 3)); },
                   [](Model& m) { m.snapshot = snapshot_at(12, 3); }});
  steps.push_back({"reset log to 12", [](auto& s, FakeDisk&) { s->reset_log(12, 3); },
                   [](Model& m) {
                     m.log_start = 12;
                     m.entries.clear();
                   }});
  steps.push_back({"append 13..14",
                   [](auto& s, FakeDisk&) {
                     s->save_hard_state({3, ""});
                     s->append(entries(13, 14, 3));
                     s->sync();
                   },
                   [](Model& m) {
                     m.hard_state = {3, ""};
                     add(m, entries(13, 14, 3));
                   }});
  return steps;
}

// Runs the history; returns the index of the step a crash cut short, or
// nullopt when every step completed.
std::optional<std::size_t> run_history(FakeDisk& disk, const std::vector<Step>& steps) {
  std::unique_ptr<FileStorage> storage;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    try {
      steps[i].run(storage, disk);
    } catch (const DiskCrashed&) {
      return i;
    }
  }
  return std::nullopt;
}

bool is_prefix(const std::vector<LogEntry>& got, const std::vector<LogEntry>& of) {
  return got.size() <= of.size() && std::equal(got.begin(), got.end(), of.begin());
}

// The recovered state is the acknowledged state before the cut step, or a
// state the cut step was moving to: each part old or new, a log that is a
// prefix of one version and holds every entry both versions hold.
void expect_between(const Storage::State& got, const Model& before, const Model& after, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_TRUE(got.hard_state == before.hard_state || got.hard_state == after.hard_state)
      << "term " << got.hard_state.term;
  EXPECT_TRUE(got.snapshot == before.snapshot || got.snapshot == after.snapshot);
  const Index snapshot_index = got.snapshot ? got.snapshot->meta.last_index : 0;
  EXPECT_LE(got.log_start, snapshot_index) << "the log starts past the snapshot: entries lost";
  const bool old_version = got.log_start == before.log_start && is_prefix(got.entries, before.entries);
  const bool new_version = got.log_start == after.log_start && is_prefix(got.entries, after.entries);
  EXPECT_TRUE(old_version || new_version) << "log starts at " << got.log_start << " with " << got.entries.size()
                                          << " entries: not a prefix of either version";
  // Acknowledged entries that the cut step was not removing must be there
  // (or be covered by the snapshot that replaced them).
  for (const auto& entry : before.entries) {
    const bool kept = std::find(after.entries.begin(), after.entries.end(), entry) != after.entries.end();
    if (!kept || entry.index <= snapshot_index) continue;
    EXPECT_TRUE(std::find(got.entries.begin(), got.entries.end(), entry) != got.entries.end())
        << "acknowledged entry " << entry.index << " lost";
  }
}

std::uint64_t ops_of_history() {
  FakeDisk disk;
  EXPECT_EQ(run_history(disk, history()), std::nullopt);
  return disk.mutating_ops();
}

void crash_everywhere(Restart how) {
  const auto steps = history();
  std::vector<Model> after(steps.size());
  Model model;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    steps[i].effect(model);
    after[i] = model;
  }
  const auto total = ops_of_history();
  ASSERT_GT(total, 30u);
  testing::Test::RecordProperty("disk_operations", static_cast<int>(total));
  for (std::uint64_t op = 0; op < total; ++op) {
    FakeDisk disk;
    disk.crash_at(op);
    const auto cut = run_history(disk, steps);
    ASSERT_TRUE(cut.has_value()) << "op " << op << " of " << total << " never crashed";
    disk.restart(how);
    const auto where = "crash at op " + std::to_string(op) + " in step '" + steps[*cut].name + "'";
    try {
      FileStorage reopened(disk, kDir);
      expect_between(reopened.load(), *cut == 0 ? Model{} : after[*cut - 1], after[*cut], where);
      // The recovered storage takes writes again, and they are durable.
      const auto state = reopened.load();
      const Index next = state.log_start + state.entries.size() + 1;
      reopened.append(entries(next, next, 9));
      reopened.sync();
      disk.restart(Restart::lose_unsynced);
      const auto again = FileStorage(disk, kDir).load().entries;
      EXPECT_TRUE(!again.empty() && again.back() == entries(next, next, 9).front()) << where;
    } catch (const std::exception& e) {
      ADD_FAILURE() << where << ": recovery failed: " << e.what();
    }
  }
}

TEST(FileStorageCrash, PowerLossAtEveryDiskOperationRecoversAConsistentPrefix) {
  crash_everywhere(Restart::lose_unsynced);
}

TEST(FileStorageCrash, KillAtEveryDiskOperationRecoversAConsistentPrefix) { crash_everywhere(Restart::keep_written); }

TEST(FileStorageCrash, TornWriteBackAtEveryDiskOperationRecoversAConsistentPrefix) {
  crash_everywhere(Restart::keep_unsynced_prefix);
}

TEST(FileStorageCrash, ACompletedHistoryComesBackWhole) {
  for (auto how : {Restart::lose_unsynced, Restart::keep_written, Restart::keep_unsynced_prefix}) {
    FakeDisk disk;
    ASSERT_EQ(run_history(disk, history()), std::nullopt);
    disk.restart(how);
    const auto state = FileStorage(disk, kDir).load();
    EXPECT_EQ(state.hard_state, (HardState{3, ""}));
    EXPECT_EQ(state.snapshot, snapshot_at(12, 3));
    EXPECT_EQ(state.log_start, 12u);
    EXPECT_EQ(state.entries, entries(13, 14, 3));
  }
}

int errno_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const DiskError& e) {
    return e.errno_code();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a disk error: " << e.what();
  }
  return 0;
}

TEST(FileStorageFaults, AFullDiskFailsTheAppendAndNothingLaterIsVouchedFor) {
  FakeDisk disk;
  FileStorage storage(disk, kDir);
  const auto empty = disk.used_bytes();
  storage.append(entries(1, 2, 1));
  storage.sync();
  const auto per_entry = (disk.used_bytes() - empty) / 2;
  disk.set_capacity(disk.used_bytes() + per_entry + per_entry / 2);  // one entry and part of the next
  EXPECT_EQ(errno_of([&] { storage.append(entries(3, 4, 1)); }), ENOSPC);
  // The log holds a partial record now: a later sync must not succeed as if
  // entries 3..4 (or anything after them) were stored.
  disk.set_capacity(1 << 20);
  EXPECT_THROW(storage.sync(), std::runtime_error);
  EXPECT_THROW(storage.append(entries(3, 3, 1)), std::runtime_error);
  try {
    storage.save_hard_state({5, "x"});
    storage.sync();
    FAIL() << "a poisoned storage synced";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
  }
  disk.restart(Restart::keep_written);
  FileStorage reopened(disk, kDir);
  EXPECT_EQ(reopened.load().entries.size(), 3u);  // entry 3 fitted whole; 4 was torn and is dropped
  EXPECT_EQ(reopened.load().hard_state, HardState{});
}

TEST(FileStorageFaults, AnFsyncErrorIsReportedAndNoLaterSyncSucceeds) {
  FakeDisk disk;
  FileStorage storage(disk, kDir);
  storage.append(entries(1, 2, 1));
  disk.inject({DiskOp::sync, "raft/log", EIO, 1});
  EXPECT_EQ(errno_of([&] { storage.sync(); }), EIO);
  // The fault has cleared on the disk; the pages it failed to write may be
  // gone all the same, so the storage must not now report them durable.
  EXPECT_THROW(storage.sync(), std::runtime_error);
}

TEST(FileStorageFaults, ATruncationThatFailsIsReportedAndStopsLaterWrites) {
  FakeDisk disk;
  FileStorage storage(disk, kDir);
  storage.append(entries(1, 4, 1));
  storage.sync();
  disk.inject({DiskOp::truncate, "raft/log", EIO, 1});
  EXPECT_EQ(errno_of([&] { storage.truncate_after(2); }), EIO);
  EXPECT_THROW(storage.append(entries(3, 3, 2)), std::runtime_error);
  disk.restart(Restart::lose_unsynced);
  EXPECT_EQ(FileStorage(disk, kDir).load().entries, entries(1, 4, 1));
}

TEST(FileStorageFaults, ASnapshotThatDoesNotFitLeavesThePreviousOne) {
  FakeDisk disk;
  FileStorage storage(disk, kDir);
  storage.save_snapshot(snapshot_at(5, 1));
  disk.set_capacity(disk.used_bytes() + 10);
  auto big = snapshot_at(9, 1);
  big.data.assign(1000, 'x');
  try {
    storage.save_snapshot(big);
    FAIL() << "a snapshot larger than the free space was saved";
  } catch (const DiskError& e) {
    EXPECT_EQ(e.errno_code(), ENOSPC);
    EXPECT_EQ(e.path(), kDir / "snapshot.tmp");
  }
  disk.restart(Restart::keep_written);
  EXPECT_EQ(FileStorage(disk, kDir).load().snapshot, snapshot_at(5, 1));
}

}  // namespace
}  // namespace idunno::raft
