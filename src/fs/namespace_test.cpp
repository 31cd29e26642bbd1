// The namespace's commands: version numbering, commit and pruning, abort,
// delete, replica changes, and refusals that change nothing.

#include "fs/namespace.hpp"

#include <gtest/gtest.h>

#include "fs/namespace_test_support.hpp"

namespace idunno::fs {
namespace {

using test::numbers;
using test::put;
using test::run;

const std::vector<std::string> kFour = {"n4", "n2", "n3", "n1"};
const std::vector<std::string> kSorted = {"n1", "n2", "n3", "n4"};

TEST(Namespace, VersionsAreNumberedFromOnePerName) {
  Namespace ns;
  EXPECT_EQ(put(ns, "a", kFour), 1u);
  EXPECT_EQ(put(ns, "a", kFour), 2u);
  EXPECT_EQ(put(ns, "b", kFour), 1u);
  EXPECT_EQ(put(ns, "a", kFour), 3u);
  EXPECT_EQ(ns.latest("a")->version, 3u);
  EXPECT_EQ(numbers(ns.versions("a", 10)), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(ns.next_version("a"), 4u);
  EXPECT_EQ(ns.next_version("never"), 1u);
}

TEST(Namespace, BeginRecordsAPendingVersionThatReadsDoNotSee) {
  Namespace ns;
  const auto begun = run(ns, sdfs_begin("f", 123, 0xABCDEF, kFour));
  ASSERT_TRUE(begun.ok()) << begun.error;
  EXPECT_EQ(begun.version, 1u);
  const auto entry = ns.version("f", 1);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, VersionState::pending);
  EXPECT_EQ(entry->size, 123u);
  EXPECT_EQ(entry->checksum, 0xABCDEFu);
  EXPECT_EQ(entry->replicas, kSorted);
  EXPECT_FALSE(ns.latest("f"));
  EXPECT_TRUE(ns.versions("f", 5).empty());
  EXPECT_TRUE(ns.list("").empty());
  ASSERT_EQ(ns.pending().size(), 1u);
  EXPECT_EQ(ns.pending()[0].name, "f");
}

TEST(Namespace, CommitKeepsExactlyTheReplicasThatStored) {
  Namespace ns;
  const auto begun = run(ns, sdfs_begin("f", 1, 2, kFour));
  const auto committed = run(ns, sdfs_commit("f", begun.version, {"n3", "n1", "n2", "n1"}, 5));
  ASSERT_TRUE(committed.ok()) << committed.error;
  EXPECT_EQ(committed.version, 1u);
  EXPECT_TRUE(committed.removed.empty());
  const auto latest = ns.latest("f");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->state, VersionState::committed);
  EXPECT_EQ(latest->replicas, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_TRUE(ns.pending().empty());
}

TEST(Namespace, ACommitCarriesTheChecksumABeginCouldNotKnow) {
  Namespace ns;
  const auto begun = run(ns, sdfs_begin("f", 10, 0, kFour));
  ASSERT_TRUE(run(ns, sdfs_commit("f", begun.version, kFour, 5, 0x1234)).ok());
  EXPECT_EQ(ns.latest("f")->checksum, 0x1234u);
  // A commit without one keeps what Begin said.
  const auto second = run(ns, sdfs_begin("f", 10, 0x77, kFour));
  ASSERT_TRUE(run(ns, sdfs_commit("f", second.version, kFour, 5)).ok());
  EXPECT_EQ(ns.latest("f")->checksum, 0x77u);
}

TEST(Namespace, CommittingTwiceIsOkAndChangesNothing) {
  Namespace ns;
  ASSERT_EQ(put(ns, "f", kFour), 1u);
  ASSERT_TRUE(run(ns, sdfs_remove_replica("f", 1, "n4")).ok());
  const auto before = ns.files();
  const auto again = run(ns, sdfs_commit("f", 1, kFour, 5));
  EXPECT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.version, 1u);
  EXPECT_EQ(ns.files(), before);
}

TEST(Namespace, CommitOfAMissingOrAbortedVersionIsNotFound) {
  Namespace ns;
  EXPECT_EQ(run(ns, sdfs_commit("f", 1, kFour, 5)).status, SdfsStatus::not_found);
  const auto begun = run(ns, sdfs_begin("f", 1, 2, kFour));
  ASSERT_TRUE(run(ns, sdfs_abort("f", begun.version)).ok());
  const auto late = run(ns, sdfs_commit("f", begun.version, kFour, 5));
  EXPECT_EQ(late.status, SdfsStatus::not_found);
  EXPECT_NE(late.error.find("version 1 of \"f\""), std::string::npos) << late.error;
  EXPECT_FALSE(ns.version("f", 1));
}

TEST(Namespace, CommitPrunesToTheNewestMaxVersionsCommitted) {
  Namespace ns;
  for (int i = 0; i < 3; ++i) put(ns, "f", kFour, 3);
  const auto begun = run(ns, sdfs_begin("f", 1, 2, kFour));  // version 4
  const auto pending = run(ns, sdfs_begin("f", 1, 2, kFour));  // version 5, left pending
  const auto committed = run(ns, sdfs_commit("f", begun.version, {"n1", "n2", "n3"}, 3));
  ASSERT_TRUE(committed.ok());
  ASSERT_EQ(committed.removed.size(), 1u);
  EXPECT_EQ(committed.removed[0].version, 1u);
  EXPECT_EQ(committed.removed[0].replicas, kSorted);
  EXPECT_EQ(numbers(ns.versions("f", 10)), (std::vector<std::uint64_t>{4, 3, 2}));
  EXPECT_TRUE(ns.version("f", pending.version));  // pending versions are not counted or pruned
  // A smaller limit in a later command prunes more at once, oldest first.
  ASSERT_TRUE(run(ns, sdfs_commit("f", pending.version, kFour, 1)).ok());
  EXPECT_EQ(numbers(ns.versions("f", 10)), (std::vector<std::uint64_t>{5}));
}

TEST(Namespace, PruningReturnsEveryRemovedVersionWithItsReplicas) {
  Namespace ns;
  put(ns, "f", {"a", "b"}, 5);
  put(ns, "f", {"c", "d"}, 5);
  const auto begun = run(ns, sdfs_begin("f", 1, 2, {"e"}));
  const auto committed = run(ns, sdfs_commit("f", begun.version, {"e"}, 1));
  ASSERT_EQ(committed.removed.size(), 2u);
  EXPECT_EQ(committed.removed[0], (RemovedVersion{1, {"a", "b"}}));
  EXPECT_EQ(committed.removed[1], (RemovedVersion{2, {"c", "d"}}));
}

TEST(Namespace, ALateCommitOfAnOlderVersionDoesNotMoveLatestBack) {
  Namespace ns;
  const auto older = run(ns, sdfs_begin("f", 1, 2, kFour));
  ASSERT_EQ(put(ns, "f", kFour, 1), 2u);
  // Two puts raced: the older one commits last and is already beyond the
  // limit, so it is pruned at once and reported for block deletion.
  const auto late = run(ns, sdfs_commit("f", older.version, kFour, 1));
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late.removed.size(), 1u);
  EXPECT_EQ(late.removed[0].version, 1u);
  EXPECT_EQ(ns.latest("f")->version, 2u);
}

TEST(Namespace, AbortRemovesOnlyAPendingVersion) {
  Namespace ns;
  ASSERT_EQ(put(ns, "f", kFour), 1u);
  const auto begun = run(ns, sdfs_begin("f", 1, 2, {"n1", "n2"}));
  const auto aborted = run(ns, sdfs_abort("f", begun.version));
  ASSERT_TRUE(aborted.ok());
  ASSERT_EQ(aborted.removed.size(), 1u);
  EXPECT_EQ(aborted.removed[0], (RemovedVersion{2, {"n1", "n2"}}));
  EXPECT_FALSE(ns.version("f", 2));
  EXPECT_EQ(run(ns, sdfs_abort("f", 2)).status, SdfsStatus::not_found);
  const auto refused = run(ns, sdfs_abort("f", 1));
  EXPECT_EQ(refused.status, SdfsStatus::conflict);
  EXPECT_TRUE(ns.latest("f"));
  // An aborted number is never handed out again.
  EXPECT_EQ(put(ns, "f", kFour), 3u);
}

TEST(Namespace, DeleteRemovesEveryVersionAndKeepsTheCounter) {
  Namespace ns;
  put(ns, "f", {"a"});
  put(ns, "f", {"b"});
  run(ns, sdfs_begin("f", 1, 2, {"c"}));  // pending version 3
  const auto deleted = run(ns, sdfs_delete("f"));
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted.removed.size(), 3u);
  EXPECT_EQ(deleted.removed[2], (RemovedVersion{3, {"c"}}));
  EXPECT_FALSE(ns.latest("f"));
  EXPECT_TRUE(ns.list("").empty());
  EXPECT_TRUE(ns.pending().empty());
  EXPECT_EQ(run(ns, sdfs_delete("f")).status, SdfsStatus::not_found);
  EXPECT_EQ(run(ns, sdfs_delete("never")).status, SdfsStatus::not_found);
  // A put after the delete continues the numbering.
  EXPECT_EQ(put(ns, "f", {"a"}), 4u);
  EXPECT_EQ(numbers(ns.versions("f", 10)), (std::vector<std::uint64_t>{4}));
}

TEST(Namespace, AddAndRemoveReplicaAreIdempotent) {
  Namespace ns;
  put(ns, "f", {"n1", "n3"});
  ASSERT_TRUE(run(ns, sdfs_add_replica("f", 1, "n2")).ok());
  ASSERT_TRUE(run(ns, sdfs_add_replica("f", 1, "n2")).ok());
  EXPECT_EQ(ns.version("f", 1)->replicas, (std::vector<std::string>{"n1", "n2", "n3"}));
  ASSERT_TRUE(run(ns, sdfs_remove_replica("f", 1, "n1")).ok());
  ASSERT_TRUE(run(ns, sdfs_remove_replica("f", 1, "n1")).ok());
  ASSERT_TRUE(run(ns, sdfs_remove_replica("f", 1, "n9")).ok());
  EXPECT_EQ(ns.version("f", 1)->replicas, (std::vector<std::string>{"n2", "n3"}));
  EXPECT_EQ(run(ns, sdfs_add_replica("f", 2, "n1")).status, SdfsStatus::not_found);
  EXPECT_EQ(run(ns, sdfs_remove_replica("g", 1, "n1")).status, SdfsStatus::not_found);
}

TEST(Namespace, HeldByListsPendingAndCommittedVersionsOfANode) {
  Namespace ns;
  put(ns, "a", {"n1", "n2"});
  put(ns, "b", {"n2"});
  run(ns, sdfs_begin("c", 1, 2, {"n1"}));
  const auto held = ns.held_by("n1");
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].name, "a");
  EXPECT_EQ(held[1].name, "c");
  EXPECT_EQ(held[1].entry.state, VersionState::pending);
  EXPECT_TRUE(ns.held_by("n9").empty());
}

TEST(Namespace, ListGivesTheNewestCommittedVersionOfEachFileUnderAPrefix) {
  Namespace ns;
  put(ns, "data/a", {"n1"});
  put(ns, "data/a", {"n2"});
  put(ns, "data/b", {"n1"});
  put(ns, "datum", {"n1"});
  put(ns, "models/x", {"n1"});
  run(ns, sdfs_begin("data/c", 1, 2, {"n1"}));  // nothing committed yet
  const auto listed = ns.list("data/");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "data/a");
  EXPECT_EQ(listed[0].entry.version, 2u);
  EXPECT_EQ(listed[1].name, "data/b");
  EXPECT_EQ(ns.list("").size(), 4u);
  EXPECT_TRUE(ns.list("zzz").empty());
}

TEST(Namespace, BadCommandsGetAnErrorAndChangeNothing) {
  using namespace std::string_literals;
  Namespace ns;
  put(ns, "f", kFour);
  const auto before = ns.snapshot();
  struct Bad {
    std::string command;
    SdfsStatus status;
  };
  const std::vector<Bad> bad = {
      {"", SdfsStatus::bad_command},
      {"\xFF\xFF\xFF garbage", SdfsStatus::bad_command},
      {std::string(1000, '\x0A'), SdfsStatus::bad_command},
      {sdfs_begin("", 1, 2, kFour), SdfsStatus::bad_name},
      {sdfs_begin("a\0b"s, 1, 2, kFour), SdfsStatus::bad_name},
      {sdfs_begin("\xC0\xAF", 1, 2, kFour), SdfsStatus::bad_name},
      {sdfs_begin(std::string(1025, 'x'), 1, 2, kFour), SdfsStatus::bad_name},
      {sdfs_begin("g", 1, 2, {}), SdfsStatus::bad_command},
      {sdfs_begin("g", 1, 2, {"n1", ""}), SdfsStatus::bad_command},
      {sdfs_begin("g", 1, 2, {"bad\nnode"}), SdfsStatus::bad_command},
      {sdfs_commit("f", 1, kFour, 0), SdfsStatus::bad_command},
      {sdfs_commit("f", 1, {}, 5), SdfsStatus::bad_command},
      {sdfs_commit("\x01", 1, kFour, 5), SdfsStatus::bad_name},
      {sdfs_abort("f", 0), SdfsStatus::not_found},
      {sdfs_delete(""), SdfsStatus::bad_name},
      {sdfs_add_replica("f", 1, ""), SdfsStatus::bad_command},
      {sdfs_remove_replica("f", 1, ""), SdfsStatus::bad_command},
  };
  for (const auto& b : bad) {
    std::string bytes;
    ASSERT_NO_THROW(bytes = ns.apply(1, b.command));
    const auto result = decode_sdfs_result(bytes);
    EXPECT_EQ(result.status, b.status) << to_string(result.status) << ": " << result.error;
    EXPECT_FALSE(result.error.empty());
    EXPECT_EQ(ns.snapshot(), before) << result.error;
  }
}

TEST(Namespace, EveryTruncationOfACommandIsHandledWithoutThrowing) {
  Namespace ns;
  const auto command = sdfs_commit("some/file", 7, kFour, 5);
  for (std::size_t n = 0; n < command.size(); ++n) {
    EXPECT_NO_THROW(decode_sdfs_result(ns.apply(1, command.substr(0, n)))) << n;
  }
}

}  // namespace
}  // namespace idunno::fs
