// FileStorage: what was synced comes back after a reopen, a torn tail is
// dropped, and a node's acknowledgements leave only after the fsync.

#include "core/raft/file_storage.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/raft/kv_state_machine.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("idunno-raft-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<LogEntry> entries(Index from, Index to, Term term) {
  std::vector<LogEntry> out;
  for (Index i = from; i <= to; ++i) {
    out.push_back(LogEntry{term, i, EntryType::command, "entry-" + std::to_string(i)});
  }
  return out;
}

TEST(FileStorage, RoundTripsHardStateLogAndSnapshot) {
  TempDir dir;
  Snapshot snapshot{{6, 2, Configuration{{{"a", "127.0.0.1:1"}}, {{"b", "127.0.0.1:2"}}}}, "state-bytes"};
  {
    FileStorage storage(dir.path());
    storage.save_hard_state(HardState{3, "b"});
    storage.append(entries(1, 5, 1));
    storage.append(entries(6, 10, 2));
    storage.sync();
    storage.save_snapshot(snapshot);
    storage.compact(4, 1);
  }
  FileStorage reopened(dir.path());
  auto state = reopened.load();
  EXPECT_EQ(state.hard_state, (HardState{3, "b"}));
  ASSERT_TRUE(state.snapshot.has_value());
  EXPECT_EQ(*state.snapshot, snapshot);
  EXPECT_EQ(state.log_start, 4u);
  EXPECT_EQ(state.log_start_term, 1u);
  auto expected = entries(5, 5, 1);
  for (auto& e : entries(6, 10, 2)) expected.push_back(e);
  EXPECT_EQ(state.entries, expected);
  EXPECT_EQ(reopened.dropped_tail_bytes(), 0u);
}

TEST(FileStorage, TruncationAndResetSurviveReopen) {
  TempDir dir;
  {
    FileStorage storage(dir.path());
    storage.append(entries(1, 8, 1));
    storage.truncate_after(5);
    storage.append(entries(6, 7, 3));
    storage.sync();
  }
  {
    FileStorage storage(dir.path());
    auto state = storage.load();
    auto expected = entries(1, 5, 1);
    for (auto& e : entries(6, 7, 3)) expected.push_back(e);
    EXPECT_EQ(state.entries, expected);
    storage.reset_log(20, 4);
    storage.append(entries(21, 22, 4));
    storage.sync();
  }
  auto state = FileStorage(dir.path()).load();
  EXPECT_EQ(state.log_start, 20u);
  EXPECT_EQ(state.log_start_term, 4u);
  EXPECT_EQ(state.entries, entries(21, 22, 4));
}

TEST(FileStorage, TornTailIsDroppedAtEveryCutPoint) {
  TempDir dir;
  const auto log = dir.path() / "log";
  std::uintmax_t synced_size = 0;
  {
    FileStorage storage(dir.path());
    storage.append(entries(1, 4, 1));
    storage.sync();
    synced_size = fs::file_size(log);
    storage.append(entries(5, 7, 1));  // never synced: a crash may tear it
  }
  const auto full = fs::file_size(log);
  std::ifstream in(log, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Every byte of the first unsynced record, then every few bytes.
  for (auto cut = synced_size; cut <= full; cut += (cut < synced_size + 40 ? 1 : 5)) {
    {
      std::ofstream out(log, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(cut));
    }
    FileStorage storage(dir.path());
    auto state = storage.load();
    ASSERT_GE(state.entries.size(), 4u) << "cut at " << cut;
    auto all = entries(1, 7, 1);
    EXPECT_EQ(state.entries, std::vector<LogEntry>(all.begin(), all.begin() + static_cast<long>(state.entries.size())));
    // The repaired log takes appends again.
    storage.append(entries(state.entries.size() + 1, state.entries.size() + 1, 2));
    storage.sync();
    EXPECT_EQ(FileStorage(dir.path()).load().entries.size(), state.entries.size() + 1);
  }
}

TEST(FileStorage, GarbageAndBitFlipsAtTheTailAreDropped) {
  TempDir dir;
  const auto log = dir.path() / "log";
  {
    FileStorage storage(dir.path());
    storage.append(entries(1, 3, 1));
    storage.sync();
  }
  std::mt19937_64 rng(7);
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    for (int i = 0; i < 100; ++i) out.put(static_cast<char>(rng()));
  }
  FileStorage storage(dir.path());
  EXPECT_EQ(storage.load().entries, entries(1, 3, 1));
  EXPECT_EQ(storage.dropped_tail_bytes(), 100u);
  storage.append(entries(4, 4, 1));
  storage.sync();
  // Flip a byte inside the last record: that record is a torn write now.
  {
    std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(-3, std::ios::end);
    f.put('X');
  }
  EXPECT_EQ(FileStorage(dir.path()).load().entries, entries(1, 3, 1));
  // A tail the file system extended with zeros.
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out << std::string(4096, '\0');
  }
  EXPECT_EQ(FileStorage(dir.path()).load().entries, entries(1, 3, 1));
}

TEST(FileStorage, StaleEntriesWithDecreasingTermsEndTheLog) {
  TempDir dir;
  {
    FileStorage storage(dir.path());
    auto stale = entries(1, 4, 2);
    stale[2].term = 1;  // what an old record resurfacing after a truncation looks like
    storage.append(stale);
    storage.sync();
  }
  EXPECT_EQ(FileStorage(dir.path()).load().entries, entries(1, 2, 2));
}

TEST(FileStorage, TornHardStateWriteKeepsThePreviousOne) {
  TempDir dir;
  {
    FileStorage storage(dir.path());
    storage.save_hard_state(HardState{4, "a"});
    storage.sync();
    storage.save_hard_state(HardState{5, "c"});
    storage.sync();
  }
  EXPECT_EQ(FileStorage(dir.path()).load().hard_state, (HardState{5, "c"}));
  // Tear the newer slot (sequence 2 lives in slot 0).
  {
    std::fstream f(dir.path() / "state", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(10);
    f.put('\x7f');
  }
  EXPECT_EQ(FileStorage(dir.path()).load().hard_state, (HardState{4, "a"}));
}

TEST(FileStorage, CorruptSnapshotIsReportedNotIgnored) {
  TempDir dir;
  {
    FileStorage storage(dir.path());
    Snapshot snapshot;
    snapshot.meta.last_index = 3;
    snapshot.meta.last_term = 1;
    snapshot.data = "data";
    storage.save_snapshot(snapshot);
  }
  {
    std::fstream f(dir.path() / "snapshot", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(-1, std::ios::end);
    f.put('!');
  }
  EXPECT_THROW(FileStorage{dir.path()}, std::runtime_error);
}

// Records the order of storage calls, so a test can check that a reply left
// only after the sync that made its state durable.
class RecordingStorage final : public Storage {
 public:
  explicit RecordingStorage(Storage& inner) : inner_(inner) {}
  State load() override { return inner_.load(); }
  void save_hard_state(const HardState& s) override { calls.push_back("hard_state"); inner_.save_hard_state(s); }
  void append(const std::vector<LogEntry>& e) override { calls.push_back("append"); inner_.append(e); }
  void truncate_after(Index i) override { calls.push_back("truncate"); inner_.truncate_after(i); }
  void sync() override { calls.push_back("sync"); inner_.sync(); }
  void save_snapshot(const Snapshot& s) override { inner_.save_snapshot(s); }
  void compact(Index i, Term t) override { inner_.compact(i, t); }
  void reset_log(Index i, Term t) override { inner_.reset_log(i, t); }
  std::vector<std::string> calls;

 private:
  Storage& inner_;
};

TEST(FileStorage, VoteAndEntriesAreOnDiskBeforeTheReplyLeaves) {
  TempDir dir;
  core::FakeClock clock;
  KvStateMachine machine;
  FileStorage file(dir.path());
  RecordingStorage storage(file);
  RaftNode node("b", RaftConfig{}, storage, machine, clock, 1);
  Configuration config;
  config.voters = {{"a", ""}, {"b", ""}, {"c", ""}};
  ASSERT_TRUE(node.bootstrap(config));
  node.flush();
  storage.calls.clear();

  node.step(Message{"a", "b", VoteRequest{2, 1, 1, false, false}});
  ASSERT_TRUE(storage.calls.empty() || storage.calls.back() != "sync") << "synced before flush";
  auto ready = node.flush();
  ASSERT_EQ(ready.messages.size(), 1u);
  const auto& reply = std::get<VoteReply>(ready.messages[0].payload);
  EXPECT_TRUE(reply.granted);
  ASSERT_FALSE(storage.calls.empty());
  EXPECT_EQ(storage.calls.back(), "sync");
  // What the reply vouches for is in the files now, seen by a fresh reader.
  EXPECT_EQ(FileStorage(dir.path()).load().hard_state, (HardState{2, "a"}));

  storage.calls.clear();
  AppendRequest append{2, 1, 1, {LogEntry{2, 2, EntryType::command, kv_put("k", "v")}}, 1};
  node.step(Message{"a", "b", append});
  ready = node.flush();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_TRUE(std::get<AppendReply>(ready.messages[0].payload).success);
  EXPECT_EQ(std::get<AppendReply>(ready.messages[0].payload).match_index, 2u);
  EXPECT_EQ(storage.calls, (std::vector<std::string>{"append", "sync"}));
  EXPECT_EQ(FileStorage(dir.path()).load().entries.size(), 2u);
}

}  // namespace
}  // namespace idunno::raft
