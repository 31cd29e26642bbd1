// Fencing: commands from an older coordinator term are refused.

#include "core/raft/fence.hpp"

#include <gtest/gtest.h>

namespace idunno::raft {
namespace {

TEST(Fence, RejectsTermsOlderThanTheHighestSeen) {
  Fence fence;
  EXPECT_TRUE(fence.admit(3));
  EXPECT_TRUE(fence.admit(3));
  EXPECT_FALSE(fence.admit(2));
  EXPECT_TRUE(fence.admit(5));
  EXPECT_FALSE(fence.admit(4));
  fence.observe(9);
  EXPECT_FALSE(fence.admit(8));
  EXPECT_EQ(fence.highest(), 9u);
}

}  // namespace
}  // namespace idunno::raft
