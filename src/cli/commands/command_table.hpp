#pragma once
// The one command table shared by the terminal mode, the WebSocket console
// and the idunno client.
//
// Why: the same words must mean the same thing everywhere (CONTRACT.md). The
// table holds each command's name, usage, argument bounds and how its JSON
// result reads as text; it holds no behaviour, so the client (which runs no
// node) uses it to check usage and render replies, and the node binds
// handlers to the same names (CommandDispatcher). Immutable after
// construction; safe to read from any thread.

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::cli {

// Turns a command's JSON result into the text a person reads.
using TextRenderer = std::function<std::string(const boost::json::value&)>;

// What a positional argument is. A local file is on the machine of whoever
// typed the command: the idunno client checks an input file before it
// contacts the node and streams its bytes, and writes what the node streams
// back to an output file; it never sends such a path to the node. In the
// terminal mode, which runs on the node, local paths are the node's own.
enum class ArgKind { plain, local_input, local_output };

// How the idunno client runs a command that has a local file argument: one
// streamed HTTP request on the node's console instead of a WebSocket
// command. With a local_input the file is the request body (method PUT);
// with a local_output the response body goes to the file (method GET).
struct FileTransfer {
  // The request target from the command's arguments (local paths
  // included, though targets should use only the plain ones), e.g.
  // "/v1/files/" + percent_encode(args[1]).
  std::function<std::string(const std::vector<std::string>& args)> target;
};

struct CommandSpec {
  static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

  std::string name;
  std::string usage;    // the arguments, e.g. "LOCAL SDFSNAME"
  std::string summary;  // one line for `help`
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  TextRenderer render;  // empty: the JSON, pretty-printed
  // Kind of each positional argument (missing ones are plain).
  std::vector<ArgKind> arg_kinds = {};
  // Set for every command with a local file argument.
  std::optional<FileTransfer> transfer = std::nullopt;

  ArgKind kind_of(std::size_t index) const { return index < arg_kinds.size() ? arg_kinds[index] : ArgKind::plain; }
  bool has_local_files() const;
};

// A line split into the command word, its arguments and the output flag.
struct ParsedLine {
  std::string name;
  std::vector<std::string> args;
  bool json = false;  // `--json` anywhere among the words
};

// A line that could not be split (an unclosed quote, a dangling backslash).
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CommandTable {
 public:
  explicit CommandTable(std::vector<CommandSpec> specs);

  // Every command of IDunno.
  static const CommandTable& builtin();

  const CommandSpec* find(std::string_view name) const;
  const std::vector<CommandSpec>& specs() const { return specs_; }

  // Nullopt when `name` exists and takes this many arguments; otherwise the
  // message to show, with the usage line.
  std::optional<std::string> check(const std::string& name, const std::vector<std::string>& args) const;

  // "usage: put LOCAL SDFSNAME"
  static std::string usage_line(const CommandSpec& spec);

  // The `help` result: {"commands":[{"name","usage","summary"}]}.
  boost::json::value help_json() const;

 private:
  std::vector<CommandSpec> specs_;
};

// Splits a terminal line into words: whitespace separates, single and double
// quotes group, backslash escapes the next character. Throws ParseError.
std::vector<std::string> split_words(std::string_view line);

// split_words, then takes out `--json`. An empty line gives an empty name.
ParsedLine parse_line(std::string_view line);

// The text form of a command's result (the spec's renderer, or pretty JSON).
std::string render_text(const CommandTable& table, const std::string& name, const boost::json::value& result);

// JSON pretty-printed with two-space indentation.
std::string pretty_json(const boost::json::value& value);

// Percent-encodes everything but unreserved characters (RFC 3986), for a
// name inside a URL path ("a b/c" -> "a%20b%2Fc").
std::string percent_encode(std::string_view text);

// A command argument that must be a whole number ("12"), or nullopt.
std::optional<std::uint64_t> parse_unsigned(const std::string& text);

// The machine-learning job commands (job_specs.cpp).
std::vector<CommandSpec> job_command_specs();

}  // namespace idunno::cli
