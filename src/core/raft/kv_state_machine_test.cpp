// The test key-value state machine: results, snapshots, bad commands.

#include "core/raft/kv_state_machine.hpp"

#include <gtest/gtest.h>

#include "core/raft/codec.hpp"

namespace idunno::raft {
namespace {

KvResult run(KvStateMachine& kv, Index index, const std::string& command) {
  return decode_kv_result(kv.apply(index, command));
}

TEST(KvStateMachine, PutGetRemoveReportPreviousValues) {
  KvStateMachine kv;
  EXPECT_EQ(run(kv, 1, kv_put("a", "1")).status, KvStatus::not_found);
  auto second = run(kv, 2, kv_put("a", "2"));
  EXPECT_EQ(second.status, KvStatus::ok);
  EXPECT_EQ(second.value, "1");
  EXPECT_EQ(run(kv, 3, kv_get("a")).value, "2");
  EXPECT_EQ(run(kv, 4, kv_remove("a")).value, "2");
  EXPECT_EQ(run(kv, 5, kv_get("a")).status, KvStatus::not_found);
  EXPECT_EQ(kv.last_applied(), 5u);
}

TEST(KvStateMachine, SnapshotRestoresContents) {
  KvStateMachine kv;
  run(kv, 1, kv_put("x", std::string("bin\0ary", 7)));
  run(kv, 2, kv_put("y", ""));
  KvStateMachine copy;
  copy.restore(kv.snapshot());
  EXPECT_EQ(copy.contents(), kv.contents());
  EXPECT_EQ(copy.last_applied(), 2u);
  EXPECT_THROW(copy.restore("junk"), DecodeError);
  EXPECT_EQ(copy.contents(), kv.contents()) << "a failed restore changes nothing";
}

TEST(KvStateMachine, BadCommandIsAnErrorResultNotAnException) {
  KvStateMachine kv;
  EXPECT_EQ(run(kv, 1, "\x01garbage").status, KvStatus::bad_command);
  EXPECT_EQ(run(kv, 2, std::string("\x09\0\0\0\0\0\0\0\0", 9)).status, KvStatus::bad_command);
  EXPECT_TRUE(kv.contents().empty());
}

}  // namespace
}  // namespace idunno::raft
