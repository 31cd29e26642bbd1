// Which inflated copies of gzip'd datasets are garbage: names parsed back
// to their source, and the rules of the coordinator's sweep.

#include "cli/inflated_copies.hpp"

#include <gtest/gtest.h>

namespace idunno::cli {
namespace {

TEST(InflatedCopies, ANameGoesToItsSourceAndBack) {
  EXPECT_EQ(inflated_name("data/t10k-images-idx3-ubyte.gz", 3), ".idunno/inflated/data/t10k-images-idx3-ubyte.gz@v3");
  EXPECT_EQ(source_of_inflated(inflated_name("data/x.gz", 12)), (InflatedSource{"data/x.gz", 12}));
  // The version is what follows the last "@v"; the name may hold one.
  EXPECT_EQ(source_of_inflated(".idunno/inflated/a@v2.gz@v7"), (InflatedSource{"a@v2.gz", 7}));
  for (const char* other :
       {"data/x.gz@v1", ".idunno/inflated/x.gz", ".idunno/inflated/@v1", ".idunno/inflated/x@v",
        ".idunno/inflated/x@v0", ".idunno/inflated/x@v1a", ".idunno/inflated/x@v-1", ".idunno/other/x@v1"}) {
    EXPECT_EQ(source_of_inflated(other), std::nullopt) << other;
  }
}

TEST(InflatedCopies, ACopyGoesWhenItsSourceVersionIsGoneAndNoUnfinishedJobReadsIt) {
  const std::set<std::pair<std::string, std::uint64_t>> sources{{"data/a.gz", 2}, {"data/b.gz", 1}};
  const auto exists = [&sources](const InflatedSource& s) { return sources.contains({s.name, s.version}); };
  const std::vector<std::string> copies{
      inflated_name("data/a.gz", 1),  // pruned or deleted version: garbage
      inflated_name("data/a.gz", 2),  // its source is there
      inflated_name("data/b.gz", 1),  // its source is there
      inflated_name("data/c.gz", 4),  // source deleted, but a running job reads it
      inflated_name("data/d.gz", 1),  // source deleted
      "data/not-a-copy",              // not a copy's name: never touched
  };
  const std::set<std::string> in_use{inflated_name("data/c.gz", 4)};
  EXPECT_EQ(stale_inflated_copies(copies, exists, in_use),
            (std::vector<std::string>{inflated_name("data/a.gz", 1), inflated_name("data/d.gz", 1)}));
  EXPECT_TRUE(stale_inflated_copies(copies, [](const InflatedSource&) { return true; }, {}).empty());
}

}  // namespace
}  // namespace idunno::cli
