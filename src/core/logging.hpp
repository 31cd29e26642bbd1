#pragma once
// Logging setup: one spdlog logger writing to DATA_DIR/node.log and stderr.
//
// Why: every event a node logs is one line `event=NAME key=value ...`, so a
// cluster-wide grep answers "what happened to X". The file gets everything
// at `level`; stderr the same level. Call init_logging once, on the main
// thread, before the event loop starts; spdlog is thread-safe afterwards.

#include <filesystem>
#include <string>

namespace idunno::core {

// Returns false (and leaves the default stderr logger) when the log file
// cannot be opened; `error` then says why.
bool init_logging(const std::filesystem::path& data_dir, const std::string& node_name,
                  const std::string& level, std::string* error = nullptr);

// Quotes a value for a key=value field when it holds spaces or quotes.
std::string log_quote(const std::string& value);

}  // namespace idunno::core
