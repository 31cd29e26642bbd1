// Failpoints: the names IDUNNO_FAILPOINTS arms, and an armed one ending
// the process the way a crash does.

#include "core/failpoint.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace idunno::core {
namespace {

TEST(Failpoint, TheSpecIsACommaSeparatedListOfNames) {
  EXPECT_TRUE(failpoint_armed_in("jobs.after_lease", "jobs.after_lease"));
  EXPECT_TRUE(failpoint_armed_in("a, jobs.after_lease ,b", "jobs.after_lease"));
  EXPECT_FALSE(failpoint_armed_in("jobs.after_lease_x", "jobs.after_lease"));
  EXPECT_FALSE(failpoint_armed_in("", "jobs.after_lease"));
  EXPECT_FALSE(failpoint_armed_in(",,", ""));
}

// The environment is read once per process: the armed case runs in the
// death test's child, which reads it first.
TEST(Failpoint, AnArmedOneEndsTheProcessAndAnUnarmedOneReturns) {
  EXPECT_EXIT(
      {
        ::setenv("IDUNNO_FAILPOINTS", "other,test.point", 1);
        failpoint("test.point");
        std::exit(0);
      },
      ::testing::ExitedWithCode(70), "");
  ::unsetenv("IDUNNO_FAILPOINTS");
  failpoint("test.point");
  SUCCEED() << "an unarmed failpoint returned";
}

}  // namespace
}  // namespace idunno::core
