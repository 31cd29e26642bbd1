#include "cli/log_search.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <tuple>

namespace idunno::cli {

namespace json = boost::json;

namespace {

// How often (in lines) the scan looks at the clock and the cancel token.
constexpr std::uint64_t kPollEvery = 256;
constexpr std::size_t kReadChunk = 64 * 1024;

bool has_regex_syntax(std::string_view pattern) {
  return pattern.find_first_of("^$\\.*+?()[]{}|") != std::string_view::npos;
}

// Collects the matches of one scan and says when a cap is reached.
class Collector {
 public:
  Collector(const LinePattern& pattern, const LogSearchLimits& limits) : pattern_(pattern), limits_(limits) {}

  // False once a cap stops the scan.
  bool take(const std::string& line, bool cut) {
    ++result_.scanned_lines;
    if (!pattern_.matches(line)) return true;
    std::string kept = cut ? line + std::string(kCutMarker) : line;
    bytes_ += kept.size();
    result_.lines.push_back(std::move(kept));
    if (result_.lines.size() >= limits_.max_lines) {
      result_.truncated = "stopped at " + std::to_string(limits_.max_lines) + " matching lines";
      return false;
    }
    if (bytes_ >= limits_.max_bytes) {
      result_.truncated = "stopped at " + std::to_string(limits_.max_bytes) + " bytes of matching lines";
      return false;
    }
    return true;
  }

  LogSearchResult& result() { return result_; }

 private:
  const LinePattern& pattern_;
  const LogSearchLimits& limits_;
  LogSearchResult result_;
  std::size_t bytes_ = 0;
};

}  // namespace

LinePattern::LinePattern(std::string pattern) : text_(std::move(pattern)), literal_(!has_regex_syntax(text_)) {
  if (literal_) return;
  try {
    regex_ = std::regex(text_, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw BadPattern("bad regular expression '" + text_ + "': " + e.what());
  }
}

bool LinePattern::matches(std::string_view line) const {
  if (literal_) return line.find(text_) != std::string_view::npos;
  return std::regex_search(line.begin(), line.end(), regex_);
}

LogSearchResult search_lines(std::istream& in, std::uint64_t max_read, const LinePattern& pattern,
                             const LogSearchLimits& limits, const core::CancelToken& cancel) {
  const auto deadline = std::chrono::steady_clock::now() + limits.budget;
  Collector collector(pattern, limits);
  std::array<char, kReadChunk> buffer{};
  std::string line;
  bool cut = false;
  std::uint64_t left = max_read;
  while (left > 0) {
    in.read(buffer.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buffer.size(), left)));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    left -= got;
    std::string_view chunk(buffer.data(), got);
    while (!chunk.empty()) {
      const std::size_t end = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, end);
      const std::size_t room = limits.max_line_bytes > line.size() ? limits.max_line_bytes - line.size() : 0;
      line.append(piece.substr(0, room));
      cut = cut || piece.size() > room;
      if (end == std::string_view::npos) break;
      chunk.remove_prefix(end + 1);
      if (!collector.take(line, cut)) return std::move(collector.result());
      line.clear();
      cut = false;
      if (collector.result().scanned_lines % kPollEvery == 0) {
        cancel.throw_if_stop_requested();
        if (std::chrono::steady_clock::now() >= deadline) {
          collector.result().truncated = "stopped after " + std::to_string(limits.budget.count()) + " ms of searching";
          return std::move(collector.result());
        }
      }
    }
    if (!in) break;
  }
  return std::move(collector.result());
}

LogSearchResult search_log_file(const std::filesystem::path& path, const LinePattern& pattern,
                                const LogSearchLimits& limits, const core::CancelToken& cancel) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the log " + path.string());
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) throw std::runtime_error("cannot read the log " + path.string());
  return search_lines(in, static_cast<std::uint64_t>(size), pattern, limits, cancel);
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      out += text[i++];
      continue;
    }
    // Continuation bytes after the lead, and the smallest code point that
    // needs them (shortest form only).
    std::size_t more = 0;
    std::uint32_t least = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
      least = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      more = 2;
      least = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      more = 3;
      least = 0x10000;
    }
    std::uint32_t code = lead & (0x7Fu >> (more + 1));
    bool ok = more > 0 && i + more < text.size();
    for (std::size_t k = 1; ok && k <= more; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0u) == 0x80u;
      code = (code << 6) | (next & 0x3Fu);
    }
    // No surrogates, nothing above U+10FFFF.
    ok = ok && code >= least && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
    if (ok) {
      out.append(text.substr(i, more + 1));
      i += more + 1;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

json::object grep_result_json(std::vector<NodeLogAnswer> answers) {
  std::sort(answers.begin(), answers.end(), [](const NodeLogAnswer& a, const NodeLogAnswer& b) {
    return std::tie(a.node, a.error, a.lines) < std::tie(b.node, b.error, b.lines);
  });
  json::array matches;
  json::array failed;
  json::array truncated;
  for (const auto& answer : answers) {
    if (!answer.error.empty()) {
      failed.push_back(json::object{{"node", answer.node}, {"error", valid_utf8(answer.error)}});
      continue;
    }
    for (const auto& line : answer.lines) {
      matches.push_back(json::object{{"node", answer.node}, {"line", valid_utf8(line)}});
    }
    if (!answer.truncated.empty()) {
      truncated.push_back(json::object{{"node", answer.node}, {"reason", answer.truncated}});
    }
  }
  return json::object{
      {"matches", std::move(matches)}, {"failed", std::move(failed)}, {"truncated", std::move(truncated)}};
}

}  // namespace idunno::cli
