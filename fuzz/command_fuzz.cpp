// libFuzzer target: the terminal/command-line parser and usage checks must
// accept any bytes without crashing.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/commands/command_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace idunno::cli;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    const ParsedLine parsed = parse_line(line);
    (void)CommandTable::builtin().check(parsed.name, parsed.args);
  } catch (const ParseError&) {
    // An unclosed quote is a normal outcome.
  }
  return 0;
}
