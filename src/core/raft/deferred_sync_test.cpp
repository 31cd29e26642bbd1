// A storage whose syncs the driver completes later (the driver's disk
// thread): the leader sends its entries before its own copy is durable, and
// counts that copy towards commitment only once log_synced() reports it, so
// nothing commits on the strength of an unsynced write.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "core/clock.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "core/raft/memory_storage.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft {
namespace {

using namespace std::chrono_literals;

// MemoryStorage whose sync() only notes that one is owed, as the driver's
// queued storage does; the test decides when the writes are durable.
class DeferredStorage final : public Storage {
 public:
  State load() override { return inner_.load(); }
  void save_hard_state(const HardState& state) override { inner_.save_hard_state(state); }
  void append(const std::vector<LogEntry>& entries) override { inner_.append(entries); }
  void truncate_after(Index last_kept) override { inner_.truncate_after(last_kept); }
  void sync() override { owed_ = true; }
  bool sync_is_deferred() const override { return true; }
  void save_snapshot(const Snapshot& snapshot) override { inner_.save_snapshot(snapshot); }
  void compact(Index upto, Term upto_term) override { inner_.compact(upto, upto_term); }
  void reset_log(Index start, Term start_term) override { inner_.reset_log(start, start_term); }

  // The owed sync completes.
  void complete() {
    inner_.sync();
    owed_ = false;
  }

 private:
  MemoryStorage inner_;
  bool owed_ = false;
};

struct Voter {
  Voter(NodeName name, Storage& storage, const core::Clock& clock, std::uint64_t seed)
      : raft(std::move(name), RaftConfig{}, storage, kv, clock, seed) {}
  KvStateMachine kv;
  RaftNode raft;
};

Configuration voters(std::initializer_list<NodeName> names) {
  Configuration config;
  for (const auto& n : names) config.voters.emplace(n, "");
  return config;
}

// Ticks `node` alone until it leads (a single voter elects itself).
void elect_alone(RaftNode& node, DeferredStorage& storage, core::FakeClock& clock) {
  for (int i = 0; i < 200 && node.role() != Role::leader; ++i) {
    clock.advance(5ms);
    node.tick();
    (void)node.flush();
    storage.complete();
    node.log_synced(node.sync_mark());
    (void)node.flush();
  }
  ASSERT_EQ(node.role(), Role::leader);
}

TEST(RaftDeferredSync, ASingleVoterCommitsOnlyOnceItsOwnWriteIsSynced) {
  core::FakeClock clock;
  DeferredStorage storage;
  Voter a("a", storage, clock, 1);
  a.raft.bootstrap(voters({"a"}));
  elect_alone(a.raft, storage, clock);
  (void)a.raft.flush();

  const auto p = a.raft.propose(kv_put("k", "v"));
  ASSERT_TRUE(p.accepted);
  const auto mark = a.raft.sync_mark();
  EXPECT_TRUE(a.raft.flush().applied.empty()) << "committed before the write was durable";
  EXPECT_FALSE(a.kv.get("k"));

  storage.complete();
  a.raft.log_synced(mark);
  const auto ready = a.raft.flush();
  ASSERT_EQ(ready.applied.size(), 1u);
  EXPECT_EQ(ready.applied[0].index, p.index);
  EXPECT_EQ(a.kv.get("k"), "v");
}

TEST(RaftDeferredSync, TheLeaderSendsItsEntriesBeforeItsSyncAndAMajorityOfFollowersCommitsThem) {
  core::FakeClock clock;
  DeferredStorage leader_storage;
  MemoryStorage b_storage;
  MemoryStorage c_storage;
  Voter a("a", leader_storage, clock, 1);
  Voter b("b", b_storage, clock, 2);
  Voter c("c", c_storage, clock, 3);
  std::map<NodeName, RaftNode*> nodes{{"a", &a.raft}, {"b", &b.raft}, {"c", &c.raft}};
  for (auto& [name, node] : nodes) node->bootstrap(voters({"a", "b", "c"}));

  // Delivers every message until quiet; the leader's sync never completes
  // unless `sync_leader`.
  std::set<NodeName> cut;
  auto settle = [&](bool sync_leader) {
    for (int round = 0; round < 100; ++round) {
      std::vector<Message> messages;
      for (auto& [name, node] : nodes) {
        auto ready = node->flush();
        if (name == "a" && sync_leader) {
          leader_storage.complete();
          node->log_synced(node->sync_mark());
          auto more = node->flush();
          for (auto& m : more.messages) ready.messages.push_back(std::move(m));
        }
        for (auto& m : ready.messages) messages.push_back(std::move(m));
      }
      if (messages.empty()) return;
      for (const auto& m : messages) {
        if (!cut.contains(m.to) && !cut.contains(m.from)) nodes.at(m.to)->step(m);
      }
    }
  };
  // "a" campaigns first (its syncs complete while it is elected).
  for (int i = 0; i < 200 && a.raft.role() != Role::leader; ++i) {
    clock.advance(5ms);
    a.raft.tick();
    settle(true);
  }
  ASSERT_EQ(a.raft.role(), Role::leader);

  // With one follower cut off, the leader's unsynced copy must not make the
  // majority: nothing commits.
  cut.insert("c");
  const auto p = a.raft.propose(kv_put("x", "1"));
  ASSERT_TRUE(p.accepted);
  settle(false);
  EXPECT_FALSE(a.kv.get("x")) << "committed with an unsynced leader copy and one follower";
  EXPECT_FALSE(b.kv.get("x"));
  // Both followers store it: a majority without the leader's sync.
  cut.clear();
  for (int i = 0; i < 20 && !a.kv.get("x"); ++i) {
    clock.advance(50ms);
    a.raft.tick();
    settle(false);
  }
  EXPECT_EQ(a.kv.get("x"), "1");
}

// A sync report from before the log was truncated must not count for the
// entries that replaced the truncated ones: a deposed leader's unsynced
// entries are overwritten by the next leader, the node leads again, and
// only then does its old sync report arrive.
TEST(RaftDeferredSync, AReportFromBeforeATruncationDoesNotCoverTheEntriesThatReplacedIt) {
  core::FakeClock clock;
  DeferredStorage a_storage;
  MemoryStorage b_storage;
  MemoryStorage c_storage;
  Voter a("a", a_storage, clock, 1);
  Voter b("b", b_storage, clock, 2);
  Voter c("c", c_storage, clock, 3);
  std::map<NodeName, RaftNode*> nodes{{"a", &a.raft}, {"b", &b.raft}, {"c", &c.raft}};
  for (auto& [name, node] : nodes) node->bootstrap(voters({"a", "b", "c"}));
  std::set<NodeName> cut;
  auto settle = [&](bool sync_a) {
    for (int round = 0; round < 100; ++round) {
      std::vector<Message> messages;
      for (auto& [name, node] : nodes) {
        auto ready = node->flush();
        if (name == "a" && sync_a) {
          a_storage.complete();
          node->log_synced(node->sync_mark());
          auto more = node->flush();
          for (auto& m : more.messages) ready.messages.push_back(std::move(m));
        }
        for (auto& m : ready.messages) messages.push_back(std::move(m));
      }
      if (messages.empty()) return;
      for (const auto& m : messages) {
        if (!cut.contains(m.to) && !cut.contains(m.from)) nodes.at(m.to)->step(m);
      }
    }
  };
  auto tick_until = [&](const std::function<bool()>& done, bool sync_a) {
    for (int i = 0; i < 400 && !done(); ++i) {
      clock.advance(5ms);
      for (auto& [name, node] : nodes) {
        if (!cut.contains(name)) node->tick();
      }
      settle(sync_a);
    }
    return done();
  };
  ASSERT_TRUE(tick_until([&] { return a.raft.role() == Role::leader; }, true));

  // a, cut off, takes two entries it never syncs.
  cut = {"a"};
  ASSERT_TRUE(a.raft.propose(kv_put("x", "1")).accepted);
  ASSERT_TRUE(a.raft.propose(kv_put("x", "2")).accepted);
  settle(false);
  const auto stale = a.raft.sync_mark();
  // b leads without a; its first entry lands where a's first one is.
  ASSERT_TRUE(tick_until([&] { return b.raft.role() == Role::leader; }, false));
  const auto b_last = b.raft.sync_mark().last;
  ASSERT_EQ(b_last, stale.last - 1);
  // a rejoins and takes b's log: its two entries are truncated.
  cut.clear();
  ASSERT_TRUE(tick_until([&] { return a.raft.sync_mark().last == b_last && a.raft.leader() == "b"; }, false));
  // a leads again, with b only; its new entry sits at the stale report's
  // last index, unsynced.
  cut = {"c"};
  ASSERT_TRUE(b.raft.transfer_leadership("a"));
  ASSERT_TRUE(tick_until([&] { return a.raft.role() == Role::leader; }, false));
  ASSERT_GE(a.raft.sync_mark().last, stale.last);
  const auto commit_before = a.raft.commit_index();
  ASSERT_LT(commit_before, a.raft.sync_mark().last);

  a.raft.log_synced(stale);
  settle(false);
  EXPECT_EQ(a.raft.commit_index(), commit_before) << "committed on the strength of a stale sync report";

  a_storage.complete();
  a.raft.log_synced(a.raft.sync_mark());
  settle(false);
  EXPECT_EQ(a.raft.commit_index(), a.raft.sync_mark().last);
}

}  // namespace
}  // namespace idunno::raft
