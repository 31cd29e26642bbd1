#include "cli/commands/completion.hpp"

#include <algorithm>
#include <sstream>

namespace idunno::cli {

namespace {

// One word of a usage line: a positional argument ("SDFSNAME", "[JOB]",
// "train|infer|stop") or a flag with its value's name ("--version V").
struct UsageWord {
  std::string name;
  std::string flag;  // empty for a positional argument
};

std::vector<UsageWord> usage_words(const std::string& usage) {
  std::vector<UsageWord> out;
  std::istringstream in(usage);
  std::string token;
  std::string pending_flag;
  while (in >> token) {
    std::erase_if(token, [](char c) { return c == '[' || c == ']'; });
    if (token.empty()) continue;
    if (token.rfind("--", 0) == 0) {
      if (!pending_flag.empty()) out.push_back({"", pending_flag});  // a flag without a value
      pending_flag = token;
      continue;
    }
    out.push_back({token, pending_flag});
    pending_flag.clear();
  }
  if (!pending_flag.empty()) out.push_back({"", pending_flag});
  return out;
}

std::vector<std::string> whitespace_words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::vector<std::string> matching(const std::vector<std::string>& options, std::string_view word,
                                  std::string_view prefix = "") {
  std::vector<std::string> out;
  for (const auto& option : options) {
    std::string full = std::string(prefix) + option;
    if (starts_with(full, word)) out.push_back(std::move(full));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> alternatives(const std::string& name) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t bar = name.find('|', start);
    out.push_back(name.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

// What a value named `name` (from the usage line) completes to.
Completion complete_value(const std::string& name, ArgKind kind, std::string_view word,
                          const std::vector<std::string>& sdfs_names) {
  if (kind == ArgKind::local_input || kind == ArgKind::local_output || name == "LOCAL") return {{}, true};
  if (name == "SDFSNAME") return {matching(sdfs_names, word), false};
  if (name == "DATA" || name == "DATASET") {
    // A local path, or an SDFS name written sdfs:NAME.
    if (starts_with(word, "sdfs:") || (!word.empty() && starts_with("sdfs:", word))) {
      return {matching(sdfs_names, word, "sdfs:"), false};
    }
    return {{}, true};
  }
  if (name == "MODEL") {
    return {matching(sdfs_names, word), false};
  }
  if (name == "LEVEL") return {matching({"trace", "debug", "info", "warn", "error", "off"}, word), false};
  if (name.find('|') != std::string::npos) return {matching(alternatives(name), word), false};
  return {};
}

}  // namespace

Completion complete_word(const CommandTable& table, std::string_view before, std::string_view word,
                         const std::vector<std::string>& sdfs_names) {
  const std::vector<std::string> words = whitespace_words(before);
  if (words.empty()) {
    std::vector<std::string> names;
    for (const auto& spec : table.specs()) names.push_back(spec.name);
    return {matching(names, word), false};
  }
  const CommandSpec* spec = table.find(words.front());
  if (!spec) return {};
  const std::vector<UsageWord> usage = usage_words(spec->usage);

  if (starts_with(word, "-")) {
    std::vector<std::string> flags = {"--json"};
    for (const auto& u : usage) {
      if (!u.flag.empty()) flags.push_back(u.flag);
    }
    return {matching(flags, word), false};
  }
  // The value of a flag: `--model MO<Tab>`.
  const std::string& previous = words.back();
  if (words.size() > 1 && starts_with(previous, "--")) {
    for (const auto& u : usage) {
      if (u.flag == previous)
        return u.name.empty() ? Completion{} : complete_value(u.name, ArgKind::plain, word, sdfs_names);
    }
  }
  // The index of this positional argument: words that are neither flags nor
  // a flag's value.
  std::size_t index = 0;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "--json") continue;
    if (starts_with(words[i], "--")) {
      const bool takes_value = std::any_of(usage.begin(), usage.end(),
                                           [&](const UsageWord& u) { return u.flag == words[i] && !u.name.empty(); });
      if (takes_value) ++i;
      continue;
    }
    ++index;
  }
  std::size_t position = 0;
  for (const auto& u : usage) {
    if (!u.flag.empty()) continue;
    if (position == index) return complete_value(u.name, spec->kind_of(index), word, sdfs_names);
    ++position;
  }
  return {};
}

}  // namespace idunno::cli
