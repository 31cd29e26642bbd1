// The namespace's snapshot and its ReadIndex queries: a restored namespace
// equals the original and continues the same; queries answer what the
// accessors do and refuse what they cannot read.

#include <gtest/gtest.h>

#include "core/raft/codec.hpp"
#include "fs/namespace.hpp"
#include "fs/namespace_test_support.hpp"

namespace idunno::fs {
namespace {

using test::ask;
using test::put;
using test::run;

// A namespace with committed, pending, pruned, aborted and deleted versions.
Namespace populated() {
  Namespace ns;
  put(ns, "a", {"n1", "n2", "n3"});
  put(ns, "a", {"n2", "n3", "n4"});
  put(ns, "b/c", {"n1"}, 1);
  put(ns, "b/c", {"n5"}, 1);  // prunes version 1
  put(ns, "gone", {"n1"});
  run(ns, sdfs_delete("gone"));  // a tombstone with next_version 2
  run(ns, sdfs_begin("a", 77, 88, {"n9"}));  // pending version 3
  const auto aborted = run(ns, sdfs_begin("x", 1, 1, {"n1"}));
  run(ns, sdfs_abort("x", aborted.version));
  return ns;
}

TEST(NamespaceSnapshot, RoundTripGivesTheSameState) {
  const auto original = populated();
  Namespace copy;
  copy.restore(original.snapshot());
  EXPECT_EQ(copy.files(), original.files());
  EXPECT_EQ(copy.snapshot(), original.snapshot());
  EXPECT_EQ(copy.next_version("gone"), 2u);
  EXPECT_EQ(copy.next_version("x"), 2u);
  ASSERT_EQ(copy.pending().size(), 1u);
  EXPECT_EQ(copy.pending()[0].entry.size, 77u);
}

TEST(NamespaceSnapshot, ARestoredNamespaceContinuesAsTheOriginalDoes) {
  auto original = populated();
  Namespace copy;
  copy.restore(original.snapshot());
  for (auto* ns : {&original, &copy}) {
    EXPECT_EQ(put(*ns, "gone", {"n1"}), 2u);
    EXPECT_EQ(put(*ns, "a", {"n1"}, 2), 4u);
    EXPECT_TRUE(run(*ns, sdfs_commit("a", 3, {"n9"}, 2)).ok());
  }
  EXPECT_EQ(copy.snapshot(), original.snapshot());
}

TEST(NamespaceSnapshot, EqualStatesGiveEqualBytesWhateverTheOrderOfFiles) {
  Namespace first;
  Namespace second;
  put(first, "x", {"n1"});
  put(first, "y", {"n2"});
  put(second, "y", {"n2"});
  put(second, "x", {"n1"});
  EXPECT_EQ(first.snapshot(), second.snapshot());
}

TEST(NamespaceSnapshot, RestoreOfNothingIsTheEmptyState) {
  auto ns = populated();
  ns.restore("");
  EXPECT_TRUE(ns.files().empty());
  EXPECT_EQ(put(ns, "a", {"n1"}), 1u);
}

TEST(NamespaceSnapshot, ABadSnapshotThrowsAndKeepsTheState) {
  auto ns = populated();
  const auto before = ns.snapshot();
  EXPECT_THROW(ns.restore("\xFF\xFF not a snapshot"), raft::DecodeError);
  // A version not below next_version breaks an invariant apply() keeps.
  pb::NamespaceSnapshot broken;
  broken.set_format(1);
  auto& file = *broken.add_files();
  file.set_name("f");
  file.set_next_version(1);
  file.add_versions()->set_version(1);
  EXPECT_THROW(ns.restore(broken.SerializeAsString()), raft::DecodeError);
  broken.set_format(2);
  EXPECT_THROW(ns.restore(broken.SerializeAsString()), raft::DecodeError);
  pb::NamespaceSnapshot unsorted;
  unsorted.set_format(1);
  unsorted.add_files()->set_name("b");
  unsorted.mutable_files(0)->set_next_version(1);
  unsorted.add_files()->set_name("a");
  unsorted.mutable_files(1)->set_next_version(1);
  EXPECT_THROW(ns.restore(unsorted.SerializeAsString()), raft::DecodeError);
  EXPECT_EQ(ns.snapshot(), before);
}

TEST(NamespaceQuery, LookupFindsTheNewestOrAGivenCommittedVersion) {
  const auto ns = populated();
  auto newest = ask(ns, sdfs_lookup("a"));
  ASSERT_TRUE(newest.ok()) << newest.error;
  ASSERT_EQ(newest.versions.size(), 1u);
  EXPECT_EQ(newest.versions[0].name, "a");
  EXPECT_EQ(newest.versions[0].entry, *ns.latest("a"));
  EXPECT_EQ(newest.versions[0].entry.version, 2u);
  const auto first = ask(ns, sdfs_lookup("a", 1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.versions[0].entry.replicas, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(ask(ns, sdfs_lookup("a", 3)).status, SdfsStatus::not_found);  // pending
  EXPECT_EQ(ask(ns, sdfs_lookup("b/c", 1)).status, SdfsStatus::not_found);  // pruned
  EXPECT_EQ(ask(ns, sdfs_lookup("gone")).status, SdfsStatus::not_found);   // deleted
  const auto missing = ask(ns, sdfs_lookup("nothing"));
  EXPECT_EQ(missing.status, SdfsStatus::not_found);
  EXPECT_NE(missing.error.find("\"nothing\""), std::string::npos) << missing.error;
  EXPECT_EQ(ask(ns, sdfs_lookup("")).status, SdfsStatus::bad_name);
}

TEST(NamespaceQuery, VersionsComeNewestFirstAndOnlyCommitted) {
  const auto ns = populated();
  const auto result = ask(ns, sdfs_versions("a", 5));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result.versions.size(), 2u);
  EXPECT_EQ(result.versions[0].entry.version, 2u);
  EXPECT_EQ(result.versions[1].entry.version, 1u);
  EXPECT_EQ(ask(ns, sdfs_versions("a", 1)).versions.size(), 1u);
  EXPECT_EQ(ask(ns, sdfs_versions("a", 0)).status, SdfsStatus::bad_command);
  EXPECT_EQ(ask(ns, sdfs_versions("gone", 3)).status, SdfsStatus::not_found);
}

TEST(NamespaceQuery, ListAndHeldByAnswerWhatTheAccessorsDo) {
  const auto ns = populated();
  EXPECT_EQ(ask(ns, sdfs_list("")).versions, ns.list(""));
  EXPECT_EQ(ask(ns, sdfs_list("b/")).versions.size(), 1u);
  EXPECT_TRUE(ask(ns, sdfs_list("zz")).versions.empty());
  EXPECT_EQ(ask(ns, sdfs_held_by("n1")).versions, ns.held_by("n1"));
  const auto n9 = ask(ns, sdfs_held_by("n9"));
  ASSERT_EQ(n9.versions.size(), 1u);
  EXPECT_EQ(n9.versions[0].entry.state, VersionState::pending);
}

TEST(NamespaceQuery, AnUndecodableQueryIsABadCommandNotAThrow) {
  const auto ns = populated();
  for (const std::string& bytes : {std::string(), std::string("\xFF\xFF\x01"), std::string(3, '\x0A')}) {
    std::string answer;
    ASSERT_NO_THROW(answer = ns.query(bytes));
    EXPECT_EQ(decode_sdfs_query_result(answer).status, SdfsStatus::bad_command);
  }
}

TEST(NamespaceQuery, ResultsDecodeOnlyFromTheirOwnBytes) {
  EXPECT_THROW(decode_sdfs_result("\xFF\xFF garbage"), raft::DecodeError);
  EXPECT_THROW(decode_sdfs_query_result("\xFF\xFF garbage"), raft::DecodeError);
  pb::NamespaceResult unknown;
  unknown.set_status(static_cast<pb::Status>(42));
  EXPECT_THROW(decode_sdfs_result(unknown.SerializeAsString()), raft::DecodeError);
}

}  // namespace
}  // namespace idunno::fs
