#pragma once
// Logging setup: one spdlog logger writing to DATA_DIR/node.log and to the
// console (stderr, or the terminal mode's prompt).
//
// Why: every event a node logs is one line `event=NAME key=value ...`, so a
// cluster-wide grep answers "what happened to X". The file gets everything
// at the configured level. The console has a level of its own: the same at
// first, and only warnings and errors while the terminal mode's prompt is up
// (info lines would bury it); `log-level LEVEL` changes it live. Call
// init_logging once, on the main thread, before the event loop starts; the
// rest is thread-safe.

#include <spdlog/common.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace idunno::core {

// Returns false (and leaves the default stderr logger) when the log file
// cannot be opened; `error` then says why.
bool init_logging(const std::filesystem::path& data_dir, const std::string& node_name,
                  const std::string& level, std::string* error = nullptr);

// "trace", "debug", "info", "warn" (or "warning"), "error", "critical",
// "off"; nullopt for anything else (spdlog's own parser maps unknown words
// to off).
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);
// "one of trace, debug, info, warn, error, critical, off"
std::string log_level_choices();
std::string log_level_name(spdlog::level::level_enum level);

// The console's level; the file's stays what init_logging set. No-ops
// before init_logging.
void set_console_log_level(spdlog::level::level_enum level);
spdlog::level::level_enum console_log_level();
spdlog::level::level_enum file_log_level();

// Where console lines go: each formatted line, without its newline, is
// handed to `writer` (called on the logging thread, under the sink's lock;
// it must not log). An empty writer restores stderr.
using ConsoleWriter = std::function<void(std::string_view line)>;
void set_console_writer(ConsoleWriter writer);

// Quotes a value for a key=value field when it holds spaces or quotes.
std::string log_quote(const std::string& value);

}  // namespace idunno::core
