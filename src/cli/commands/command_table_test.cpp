#include "cli/commands/command_table.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>


namespace idunno::cli {
namespace {

TEST(SplitWords, QuotesAndEscapes) {
  EXPECT_EQ(split_words("  put  a.txt   'my file'  "), (std::vector<std::string>{"put", "a.txt", "my file"}));
  EXPECT_EQ(split_words(R"(grep "a \"b\" c" x\ y)"), (std::vector<std::string>{"grep", "a \"b\" c", "x y"}));
  EXPECT_EQ(split_words("put '' x"), (std::vector<std::string>{"put", "", "x"}));
  EXPECT_TRUE(split_words("   ").empty());
  EXPECT_THROW(split_words("put 'open"), ParseError);
  EXPECT_THROW(split_words("put x\\"), ParseError);
}

TEST(ParseLine, TakesOutJsonFlag) {
  const auto parsed = parse_line("list_mem --json");
  EXPECT_EQ(parsed.name, "list_mem");
  EXPECT_TRUE(parsed.args.empty());
  EXPECT_TRUE(parsed.json);
  EXPECT_FALSE(parse_line("list_mem").json);
}

TEST(CommandTable, ChecksUsage) {
  const auto& table = CommandTable::builtin();
  EXPECT_FALSE(table.check("help", {}));
  EXPECT_FALSE(table.check("list_self", {}));
  const auto unknown = table.check("lsit_mem", {});
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->find("unknown command 'lsit_mem'"), std::string::npos);
  const auto extra = table.check("list_self", {"x"});
  ASSERT_TRUE(extra);
  EXPECT_NE(extra->find("usage: list_self"), std::string::npos);
}

TEST(CommandTable, EveryCommandHasUsageAndRenderer) {
  for (const auto& spec : CommandTable::builtin().specs()) {
    EXPECT_FALSE(spec.summary.empty()) << spec.name;
    EXPECT_LE(spec.min_args, spec.max_args) << spec.name;
  }
  const auto help = CommandTable::builtin().help_json();
  const std::string text = render_text(CommandTable::builtin(), "help", help);
  EXPECT_NE(text.find("list_self"), std::string::npos);
}

TEST(CommandTable, RendersMembersAsTable) {
  const auto value = boost::json::parse(
      R"({"members":[{"id":"node1@127.0.0.1:7001#1","name":"node1","addr":"127.0.0.1:7001","state":"alive","incarnation":1,"role":"worker"}]})");
  const std::string text = render_text(CommandTable::builtin(), "list_mem", value);
  EXPECT_NE(text.find("NAME"), std::string::npos);
  EXPECT_NE(text.find("node1"), std::string::npos);
  EXPECT_NE(text.find("alive"), std::string::npos);
}

}  // namespace
}  // namespace idunno::cli
