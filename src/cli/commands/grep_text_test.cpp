// `grep` as text: one `NODE: LINE` per match in the result's order, and a
// note for each node that did not answer or was cut short.

#include "cli/commands/grep_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli/commands/command_table.hpp"

namespace idunno::cli {
namespace {

TEST(GrepText, PrefixesEachLineWithItsNode) {
  const auto value = boost::json::parse(R"({
    "matches":[{"node":"node1","line":"a event=x"},{"node":"node2","line":"b event=x"}],
    "failed":[{"node":"node3","error":"timed out"}],
    "truncated":[{"node":"node2","reason":"stopped at 10000 matching lines"}]})");
  EXPECT_EQ(render_text(CommandTable::builtin(), "grep", value),
            "node1: a event=x\n"
            "node2: b event=x\n"
            "note: no answer from node3: timed out\n"
            "note: node2 stopped at 10000 matching lines\n");
}

TEST(GrepText, NoMatchesIsNoOutput) {
  const auto value = boost::json::parse(R"({"matches":[],"failed":[],"truncated":[]})");
  EXPECT_EQ(render_text(CommandTable::builtin(), "grep", value), "");
  EXPECT_FALSE(CommandTable::builtin().check("grep", {"shard=17 "}));
  EXPECT_TRUE(CommandTable::builtin().check("grep", {}));
}

}  // namespace
}  // namespace idunno::cli
