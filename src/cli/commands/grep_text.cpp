#include "cli/commands/grep_text.hpp"

#include <boost/json.hpp>

#include "cli/commands/text_format.hpp"

namespace idunno::cli {

namespace json = boost::json;

std::string render_grep(const json::value& result) {
  const auto& o = result.as_object();
  std::string out;
  for (const auto& m : o.at("matches").as_array()) {
    out += field(m.as_object(), "node") + ": " + field(m.as_object(), "line") + "\n";
  }
  if (const auto* failed = o.if_contains("failed")) {
    for (const auto& f : failed->as_array()) {
      out += "note: no answer from " + field(f.as_object(), "node") + ": " + field(f.as_object(), "error") + "\n";
    }
  }
  if (const auto* truncated = o.if_contains("truncated")) {
    for (const auto& t : truncated->as_array()) {
      out += "note: " + field(t.as_object(), "node") + " " + field(t.as_object(), "reason") + "\n";
    }
  }
  return out;
}

}  // namespace idunno::cli
