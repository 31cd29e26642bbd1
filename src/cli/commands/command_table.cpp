#include "cli/commands/command_table.hpp"

#include <boost/json.hpp>
#include <charconv>

namespace idunno::cli {

namespace json = boost::json;

bool CommandSpec::has_local_files() const {
  for (const ArgKind kind : arg_kinds) {
    if (kind != ArgKind::plain) return true;
  }
  return false;
}

CommandTable::CommandTable(std::vector<CommandSpec> specs) : specs_(std::move(specs)) {
  for (const auto& spec : specs_) {
    if (spec.has_local_files() && !spec.transfer) {
      throw std::logic_error("command '" + spec.name + "' takes a local file but has no file transfer");
    }
  }
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  for (const auto& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string CommandTable::usage_line(const CommandSpec& spec) {
  return "usage: " + spec.name + (spec.usage.empty() ? "" : " " + spec.usage);
}

std::optional<std::string> CommandTable::check(const std::string& name,
                                               const std::vector<std::string>& args) const {
  const CommandSpec* spec = find(name);
  if (!spec) return "unknown command '" + name + "'; `help` lists the commands";
  if (args.size() < spec->min_args) {
    return "'" + name + "' needs " + (spec->min_args == spec->max_args ? "" : "at least ") +
           std::to_string(spec->min_args) + " argument" + (spec->min_args == 1 ? "" : "s") + "; " +
           usage_line(*spec);
  }
  if (args.size() > spec->max_args) {
    return "'" + name + "' takes " + (spec->max_args == 0 ? "no" : "at most " + std::to_string(spec->max_args)) +
           " argument" + (spec->max_args == 1 ? "" : "s") + "; " + usage_line(*spec);
  }
  return std::nullopt;
}

json::value CommandTable::help_json() const {
  json::array commands;
  for (const auto& spec : specs_) {
    commands.push_back(json::object{{"name", spec.name}, {"usage", spec.usage}, {"summary", spec.summary}});
  }
  return json::object{{"commands", std::move(commands)}};
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 == line.size()) throw ParseError("the line ends with a lone backslash");
      word += line[++i];
      in_word = true;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw ParseError(std::string("unclosed ") + quote + " quote");
  if (in_word) words.push_back(std::move(word));
  return words;
}

ParsedLine parse_line(std::string_view line) {
  ParsedLine parsed;
  for (auto& word : split_words(line)) {
    if (word == "--json") {
      parsed.json = true;
    } else if (parsed.name.empty()) {
      parsed.name = std::move(word);
    } else {
      parsed.args.push_back(std::move(word));
    }
  }
  return parsed;
}

namespace {
void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : v.as_object()) {
      if (!first) out += ",\n";
      first = false;
      out += inner + json::serialize(json::string(key)) + ": ";
      pretty(out, value, indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& value : v.as_array()) {
      if (!first) out += ",\n";
      first = false;
      out += inner;
      pretty(out, value, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string pretty_json(const json::value& value) {
  std::string out;
  pretty(out, value, 0);
  return out;
}

std::optional<std::uint64_t> parse_unsigned(const std::string& text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [at, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || at != end || text.empty()) return std::nullopt;
  return value;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string render_text(const CommandTable& table, const std::string& name, const json::value& result) {
  const CommandSpec* spec = table.find(name);
  if (spec && spec->render) return spec->render(result);
  return pretty_json(result);
}

}  // namespace idunno::cli
