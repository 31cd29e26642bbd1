// RaftNode with snapshots taken by its driver (defer_snapshots): while the
// state machine is serialized elsewhere nothing is applied to it, entries
// keep committing, and once the snapshot is handed back the waiting entries
// apply in order and the log is compacted as an inline snapshot would.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "core/raft/kv_state_machine.hpp"
#include "core/raft/memory_storage.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft {
namespace {

using namespace std::chrono_literals;

class DeferredSnapshotTest : public ::testing::Test {
 protected:
  DeferredSnapshotTest() {
    RaftConfig config;
    config.snapshot_entries = 4;
    config.snapshot_trailing_entries = 1;
    node_ = std::make_unique<RaftNode>("a", config, storage_, kv_, clock_, 1);
    node_->defer_snapshots(true);
    Configuration voters;
    voters.voters.emplace("a", "");
    node_->bootstrap(voters);
    for (int i = 0; i < 200 && node_->role() != Role::leader; ++i) {
      clock_.advance(5ms);
      node_->tick();
      collect();
    }
  }

  void collect() {
    auto ready = node_->flush();
    for (auto& a : ready.applied) applied_.push_back(a.index);
  }

  Index put(const std::string& key) {
    const auto p = node_->propose(kv_put(key, "v"));
    EXPECT_TRUE(p.accepted);
    collect();
    return p.index;
  }

  MemoryStorage storage_;
  KvStateMachine kv_;
  core::FakeClock clock_;
  std::unique_ptr<RaftNode> node_;
  std::vector<Index> applied_;
};

TEST_F(DeferredSnapshotTest, ApplyingWaitsForTheSnapshotAndResumesInOrder) {
  ASSERT_EQ(node_->role(), Role::leader);
  std::optional<RaftNode::SnapshotDue> due;
  for (int i = 0; i < 10 && !due; ++i) {
    put("k" + std::to_string(i));
    due = node_->take_snapshot_due();
  }
  ASSERT_TRUE(due.has_value()) << "no snapshot became due";
  EXPECT_TRUE(node_->snapshot_in_progress());
  EXPECT_EQ(due->meta.last_index, node_->applied_index());
  EXPECT_EQ(due->compact_upto, due->meta.last_index - 1);
  EXPECT_FALSE(node_->take_snapshot_due().has_value());  // handed out once
  EXPECT_EQ(node_->snapshot_index(), 0u);  // not taken until handed back

  // Entries commit meanwhile, but the machine being serialized is left
  // alone.
  const auto later = put("later");
  EXPECT_EQ(node_->commit_index(), later);
  EXPECT_EQ(node_->applied_index(), due->meta.last_index);
  EXPECT_FALSE(kv_.get("later").has_value());
  const auto serialized = kv_.snapshot();  // what the disk thread does

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->meta = due->meta;
  snapshot->data = serialized;
  node_->snapshot_taken(snapshot);
  collect();
  EXPECT_FALSE(node_->snapshot_in_progress());
  EXPECT_EQ(node_->snapshot_index(), due->meta.last_index);
  EXPECT_EQ(node_->log().start_index(), due->compact_upto);
  EXPECT_EQ(node_->applied_index(), later);
  EXPECT_EQ(kv_.get("later"), "v");
  ASSERT_FALSE(applied_.empty());
  EXPECT_EQ(applied_.back(), later);
  EXPECT_TRUE(std::is_sorted(applied_.begin(), applied_.end()));

  KvStateMachine restored;
  restored.restore(serialized);
  EXPECT_FALSE(restored.get("later").has_value());  // the snapshot is of its index, not later
  EXPECT_EQ(restored.get("k0"), "v");
}

TEST_F(DeferredSnapshotTest, AHandedBackSnapshotThatWasNotDueIsRefused) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->meta.last_index = 1;
  snapshot->meta.last_term = 1;
  EXPECT_THROW(node_->snapshot_taken(snapshot), std::logic_error);
}

}  // namespace
}  // namespace idunno::raft
