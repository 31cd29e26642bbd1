// Restart reconciliation of a node's blocks against the namespace, and the
// garbage rule, on a real block store in a temporary directory.

#include "fs/reconcile.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "core/coro_test.hpp"
#include "fs/block_store_test_util.hpp"
#include "fs/namespace_test_support.hpp"

namespace idunno::fs {
namespace {

using test::content;
using test::write_block;

NamedVersion listing(std::string name, std::uint64_t version, const BlockInfo& block, VersionState state) {
  VersionEntry entry;
  entry.version = version;
  entry.size = block.size;
  entry.checksum = block.checksum;
  entry.state = state;
  entry.replicas = {"me"};
  return {std::move(name), entry};
}

TEST(PlanReconcile, KeepsWhatIsListedDropsTheRestAndReportsWhatIsMissingOrDifferent) {
  BlockListing held;
  held.blocks = {{"a", 1, 10, 111}, {"b", 2, 20, 222}, {"c", 1, 30, 333}, {"p", 1, 5, 55}};
  held.bad = {"junk"};
  std::vector<NamedVersion> listed = {
      listing("a", 1, held.blocks[0], VersionState::committed),
      listing("b", 2, {"b", 2, 20, 999}, VersionState::committed),  // other bytes than the block here
      listing("d", 4, {"d", 4, 1, 1}, VersionState::committed),     // lost while away
      listing("e", 1, {"e", 1, 1, 1}, VersionState::pending),       // a put in progress elsewhere
      listing("p", 1, held.blocks[3], VersionState::pending),
  };
  const auto plan = plan_reconcile(held, listed);
  ASSERT_EQ(plan.verify.size(), 2u);
  EXPECT_EQ(plan.verify[0].name, "a");
  EXPECT_EQ(plan.verify[1].name, "p");
  ASSERT_EQ(plan.drop.size(), 2u);
  EXPECT_EQ(plan.drop[0].name, "b");  // different bytes
  EXPECT_EQ(plan.drop[1].name, "c");  // not listed here any more
  ASSERT_EQ(plan.lost.size(), 2u);
  EXPECT_EQ(plan.lost[0].name, "b");
  EXPECT_EQ(plan.lost[1].name, "d");
  EXPECT_EQ(plan.bad_files, std::vector<std::string>{"junk"});
}

TEST(GarbageBlocks, OnlyVersionsTheNamespaceRemovedNeverOnesItDoesNotKnowYet) {
  Namespace ns;
  test::put(ns, "f", {"me"});  // v1
  test::put(ns, "f", {"me"});  // v2
  test::run(ns, sdfs_begin("f", 10, 99, {"me"}));  // v3 pending
  test::put(ns, "h", {"x"});
  test::run(ns, sdfs_delete("h"));                 // h v1 gone
  const std::vector<BlockInfo> held = {
      {"f", 2, 10, 99}, {"f", 3, 10, 99},  // listed / pending: kept
      {"f", 4, 10, 99},                    // newer than this copy of the namespace: kept
      {"h", 1, 10, 99},                    // deleted: garbage
      {"k", 1, 10, 99},                    // a file this copy has not heard of: kept
  };
  test::run(ns, sdfs_abort("f", 3));
  const auto garbage = garbage_blocks(held, ns);
  ASSERT_EQ(garbage.size(), 2u);
  EXPECT_EQ(garbage[0].name, "f");
  EXPECT_EQ(garbage[0].version, 3u);  // aborted
  EXPECT_EQ(garbage[1].name, "h");
}

class ReconcileTest : public testing::CoroutineTest {
 protected:
  ReconcileTest() : store_(disk_, dir_.path()), io_pool_(1, "test-io") {}

  ReconcilePorts ports() {
    ReconcilePorts p;
    p.listed = [this]() { return listed(); };
    p.submit = [this](std::string command) { return submit(std::move(command)); };
    return p;
  }

  boost::asio::awaitable<std::vector<NamedVersion>> listed() {
    if (unanswered_ > 0) {
      --unanswered_;
      throw std::runtime_error("no coordinator");
    }
    co_return decode_sdfs_query_result(ns_.query(sdfs_held_by("me"))).versions;
  }

  boost::asio::awaitable<std::optional<SdfsResult>> submit(std::string command) { co_return test::run(ns_, command); }

  // Flips a byte in the middle of a block's file.
  void damage(std::string_view name, std::uint64_t version) {
    const auto path = store_.block_path(name, version);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    char byte = 0;
    file.get(byte);
    file.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    file.put(static_cast<char>(byte ^ 0x5a));
  }

  test::TempDir dir_;
  core::PosixDisk disk_;
  BlockStore store_;
  core::ThreadPool io_pool_;
  Namespace ns_;
  int unanswered_ = 0;
};

TEST_F(ReconcileTest, ARestartedNodeKeepsOnlyIntactListedBlocksAndGivesUpTheRest) {
  const auto kept = write_block(store_, "kept", 1, content(3000, 1));
  const auto corrupt = write_block(store_, "corrupt", 1, content(3000, 2));
  const auto deleted = write_block(store_, "deleted", 1, content(100, 3));
  const auto replaced = write_block(store_, "replaced", 1, content(100, 4));
  test::put(ns_, "kept", {"me", "x", "y"}, 5, kept.size, kept.checksum);
  test::put(ns_, "corrupt", {"me", "x", "y"}, 5, corrupt.size, corrupt.checksum);
  test::put(ns_, "deleted", {"me", "x", "y"}, 5, deleted.size, deleted.checksum);
  test::run(ns_, sdfs_delete("deleted"));
  // Re-replication replaced this node's copy while it was down.
  test::put(ns_, "replaced", {"me", "x", "y"}, 5, replaced.size, replaced.checksum);
  test::run(ns_, sdfs_remove_replica("replaced", 1, "me"));
  // Listed here, but the disk was replaced: nothing on it.
  test::put(ns_, "gone", {"me", "x", "y"}, 5, 7, 7);
  damage("corrupt", 1);
  unanswered_ = 2;  // the coordinator is still being elected

  const auto report = run(reconcile_blocks(&store_, &io_pool_, "me", ports()));
  EXPECT_EQ(report.kept, 1u);
  EXPECT_EQ(report.corrupt, 1u);
  EXPECT_EQ(report.dropped, 2u);
  EXPECT_EQ(report.lost, 2u);  // corrupt and gone
  EXPECT_TRUE(store_.contains("kept", 1));
  EXPECT_FALSE(store_.contains("corrupt", 1));
  EXPECT_FALSE(store_.contains("deleted", 1));
  EXPECT_FALSE(store_.contains("replaced", 1));
  EXPECT_EQ(ns_.version("corrupt", 1)->replicas, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ns_.version("gone", 1)->replicas, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ns_.version("kept", 1)->replicas, (std::vector<std::string>{"me", "x", "y"}));
}

// A running node's sweep removes what a missed drop left (a deleted file, an
// aborted put) and keeps everything listed, pending or unknown to its copy.
TEST_F(ReconcileTest, TheSweepRemovesOnlyVersionsTheNamespaceRemoved) {
  const auto live = write_block(store_, "live", 1, content(500, 1));
  const auto deleted = write_block(store_, "deleted", 1, content(500, 2));
  const auto aborted = write_block(store_, "live", 2, content(500, 3));
  const auto newer = write_block(store_, "live", 3, content(500, 4));  // its Begin not applied here yet
  const auto unknown = write_block(store_, "unknown", 1, content(500, 5));
  test::put(ns_, "live", {"me", "x", "y"}, 5, live.size, live.checksum);
  test::put(ns_, "deleted", {"me", "x", "y"}, 5, deleted.size, deleted.checksum);
  test::run(ns_, sdfs_delete("deleted"));
  test::run(ns_, sdfs_begin("live", aborted.size, aborted.checksum, {"me", "x", "y"}));
  test::run(ns_, sdfs_abort("live", 2));

  EXPECT_EQ(run(sweep_garbage(&store_, &io_pool_, &ns_)), 2u);
  EXPECT_TRUE(store_.contains("live", 1));
  EXPECT_FALSE(store_.contains("deleted", 1));
  EXPECT_FALSE(store_.contains("live", 2));
  EXPECT_TRUE(store_.contains("live", 3));
  EXPECT_TRUE(store_.contains("unknown", 1));
  EXPECT_EQ(run(sweep_garbage(&store_, &io_pool_, &ns_)), 0u);  // nothing left to sweep
  (void)newer;
  (void)unknown;
}

}  // namespace
}  // namespace idunno::fs
