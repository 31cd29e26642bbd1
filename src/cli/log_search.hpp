#pragma once
// The pure parts of the cluster-wide log query (`grep REGEX`): a line
// pattern, the scan of one node's log for it within caps, and the merge of
// every node's answer into the command's result.
//
// Why: `grep 'shard=17 '` answers "what happened to shard 17" across the
// cluster (every event is one `event=NAME key=value` line). The scan is
// plain blocking code over a stream, so the service runs it on the I/O pool
// and tests drive it with a string; the caps keep one node's answer small
// enough for one RPC frame and the console's reply, whatever the log holds.
//
// Matching is a search within each line (like grep), with ECMAScript
// regular expressions; a pattern without special characters is a plain
// substring search, which is what most queries are and much faster.
//
// Pure functions and values; a scan runs on whichever thread calls it.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel_token.hpp"

namespace idunno::cli {

// A pattern that is not a valid regular expression; the message says which
// and why.
class BadPattern : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class LinePattern {
 public:
  // Throws BadPattern.
  explicit LinePattern(std::string pattern);

  // True when the pattern occurs anywhere in `line`.
  bool matches(std::string_view line) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool literal_ = false;
  std::regex regex_;
};

struct LogSearchLimits {
  std::size_t max_lines = 10'000;       // matching lines kept
  std::size_t max_bytes = 2u << 20;     // bytes of matching lines kept
  std::size_t max_line_bytes = 4096;    // a longer line is cut (std::regex recurses per character)
  std::chrono::milliseconds budget{3'000};  // time spent scanning
};

struct LogSearchResult {
  std::vector<std::string> lines;  // the matching lines, in log order, without their newline
  std::uint64_t scanned_lines = 0;
  // Empty when the whole log was searched; otherwise why the search stopped
  // early ("stopped at 10000 matching lines").
  std::string truncated;
};

// Appended to a line cut at max_line_bytes.
inline constexpr std::string_view kCutMarker = " [line cut]";

// Scans at most `max_read` bytes of `in`, line by line, for `pattern`,
// keeping the first matches within `limits`. A last line without its
// newline is left out (the logger is still writing it). Polls `cancel` now
// and then and throws operation_aborted when it is set.
LogSearchResult search_lines(std::istream& in, std::uint64_t max_read, const LinePattern& pattern,
                             const LogSearchLimits& limits, const core::CancelToken& cancel = {});

// search_lines over the file at `path` as it is now (what is appended
// during the search is not read). Throws std::runtime_error naming the
// file when it cannot be opened.
LogSearchResult search_log_file(const std::filesystem::path& path, const LinePattern& pattern,
                                const LogSearchLimits& limits, const core::CancelToken& cancel = {});

// Invalid UTF-8 replaced by U+FFFD, so that a line can go into JSON.
std::string valid_utf8(std::string_view text);

// One node's answer to a query, or why there is none.
struct NodeLogAnswer {
  std::string node;
  std::vector<std::string> lines;
  std::string truncated;  // as in LogSearchResult
  std::string error;      // non-empty: the node did not answer
};

// The grep result: {"matches":[{"node","line"}], "failed":[{"node","error"}],
// "truncated":[{"node","reason"}]}, nodes in name order, each node's lines
// in log order.
boost::json::object grep_result_json(std::vector<NodeLogAnswer> answers);

}  // namespace idunno::cli
