// The log query's pure parts: what a pattern matches, a scan within its
// caps, and the merged result every node's answer goes into.

#include "cli/log_search.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace idunno::cli {
namespace {

LogSearchResult scan(const std::string& text, const std::string& pattern, LogSearchLimits limits = {}) {
  std::istringstream in(text);
  return search_lines(in, text.size(), LinePattern(pattern), limits);
}

TEST(LinePattern, SearchesWithinTheLine) {
  EXPECT_TRUE(LinePattern("shard=17 ").matches("info event=task_started job=a shard=17 node=node3"));
  EXPECT_FALSE(LinePattern("shard=17 ").matches("info event=task_started job=a shard=170 node=node3"));
  EXPECT_TRUE(LinePattern("shard=1[0-9]\\b").matches("x shard=17 y"));
  EXPECT_FALSE(LinePattern("^shard").matches("x shard=17"));
  EXPECT_TRUE(LinePattern("event=(task|job)_started").matches("event=job_started"));
  EXPECT_TRUE(LinePattern("").matches("anything"));
}

TEST(LinePattern, BadRegexSaysWhatIsWrong) {
  try {
    LinePattern bad("(");
    FAIL() << "'(' compiled";
  } catch (const BadPattern& e) {
    EXPECT_NE(std::string(e.what()).find("bad regular expression '('"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LinePattern("a[b"), BadPattern);
  EXPECT_THROW(LinePattern("*x"), BadPattern);
}

TEST(SearchLines, MatchesInLogOrder) {
  const auto result = scan("a shard=1\nb shard=2\nc shard=1\n", "shard=1");
  EXPECT_EQ(result.lines, (std::vector<std::string>{"a shard=1", "c shard=1"}));
  EXPECT_EQ(result.scanned_lines, 3u);
  EXPECT_TRUE(result.truncated.empty());
}

TEST(SearchLines, LeavesOutALineStillBeingWritten) {
  const auto result = scan("x 1\nx 2\nx 3 (half", "x");
  EXPECT_EQ(result.lines, (std::vector<std::string>{"x 1", "x 2"}));
}

TEST(SearchLines, ReadsOnlyUpToTheGivenSize) {
  const std::string text = "x 1\nx 2\nx 3\n";
  std::istringstream in(text);
  const auto result = search_lines(in, 8, LinePattern("x"), {});
  EXPECT_EQ(result.lines, (std::vector<std::string>{"x 1", "x 2"}));
}

TEST(SearchLines, StopsAtTheLineCap) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "event=e i=" + std::to_string(i) + "\n";
  LogSearchLimits limits;
  limits.max_lines = 10;
  const auto result = scan(text, "event=e", limits);
  ASSERT_EQ(result.lines.size(), 10u);
  EXPECT_EQ(result.lines.front(), "event=e i=0");
  EXPECT_EQ(result.lines.back(), "event=e i=9");
  EXPECT_EQ(result.truncated, "stopped at 10 matching lines");
}

TEST(SearchLines, StopsAtTheByteCap) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += std::string(90, 'x') + "\n";
  LogSearchLimits limits;
  limits.max_bytes = 1000;
  const auto result = scan(text, "x", limits);
  EXPECT_EQ(result.lines.size(), 12u);  // 12 * 90 >= 1000 > 11 * 90
  EXPECT_NE(result.truncated.find("bytes"), std::string::npos);
}

TEST(SearchLines, CutsALongLineAndStillMatchesItsStart) {
  // A backtracking pattern over a very long line: matched on its first
  // max_line_bytes only, so std::regex's recursion stays shallow.
  const std::string text = "start " + std::string(200'000, 'a') + "\nnext\n";
  LogSearchLimits limits;
  limits.max_line_bytes = 100;
  const auto result = scan(text, "start (a|b)*", limits);
  ASSERT_EQ(result.lines.size(), 1u);
  EXPECT_EQ(result.lines[0], "start " + std::string(94, 'a') + std::string(kCutMarker));
  EXPECT_EQ(result.scanned_lines, 2u);
}

TEST(SearchLines, StopsWhenItsTimeIsUpWithWhatItFound) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
  LogSearchLimits limits;
  limits.budget = std::chrono::milliseconds(0);
  const auto result = scan(text, "line", limits);
  EXPECT_FALSE(result.lines.empty());
  EXPECT_LT(result.lines.size(), 1000u);
  EXPECT_EQ(result.lines.front(), "line 0");
  EXPECT_EQ(result.truncated, "stopped after 0 ms of searching");
}

TEST(SearchLines, CancelledScanThrowsAborted) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line\n";
  std::istringstream in(text);
  auto stop = std::make_shared<std::atomic<bool>>(true);
  try {
    (void)search_lines(in, text.size(), LinePattern("line"), {}, core::CancelToken(stop));
    FAIL() << "a cancelled scan returned";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), boost::asio::error::operation_aborted);
  }
}

TEST(SearchLogFile, ReadsTheFileAndNamesAMissingOne) {
  const auto dir = std::filesystem::temp_directory_path() / ("idunno-log-search-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "node.log");
    out << "2026-01-01T00:00:00.000 info node=node1 event=node_started name=node1\n"
        << "2026-01-01T00:00:00.001 info node=node1 event=other\n";
  }
  const auto result = search_log_file(dir / "node.log", LinePattern("event=node_started"), {});
  ASSERT_EQ(result.lines.size(), 1u);
  EXPECT_NE(result.lines[0].find("name=node1"), std::string::npos);
  try {
    (void)search_log_file(dir / "missing.log", LinePattern("x"), {});
    FAIL() << "a missing log was searched";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.log"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(ValidUtf8, KeepsGoodTextAndReplacesBadBytes) {
  EXPECT_EQ(valid_utf8("plain"), "plain");
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(valid_utf8("a\xFF"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(valid_utf8("\xC3"), "\xEF\xBF\xBD");                  // cut short
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(GrepResult, NodesInNameOrderLinesInLogOrderFailuresAside) {
  std::vector<NodeLogAnswer> answers;
  answers.push_back({"node3", {"c1", "c2"}, {}, {}});
  answers.push_back({"node1", {"a1"}, "stopped at 1 matching lines", {}});
  answers.push_back({"node2", {}, {}, "timed out"});
  const auto result = grep_result_json(std::move(answers));
  const auto expected = boost::json::parse(R"({
    "matches":[{"node":"node1","line":"a1"},{"node":"node3","line":"c1"},{"node":"node3","line":"c2"}],
    "failed":[{"node":"node2","error":"timed out"}],
    "truncated":[{"node":"node1","reason":"stopped at 1 matching lines"}]})");
  EXPECT_EQ(boost::json::value(result), expected) << boost::json::serialize(result);
}

}  // namespace
}  // namespace idunno::cli
