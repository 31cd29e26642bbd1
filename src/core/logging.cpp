#include "core/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace idunno::core {

bool init_logging(const std::filesystem::path& data_dir, const std::string& node_name,
                  const std::string& level, std::string* error) {
  try {
    auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>((data_dir / "node.log").string());
    auto err_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(node_name, spdlog::sinks_init_list{file_sink, err_sink});
    // ISO time, level, node, then the event's fields.
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l node=%n %v");
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    return true;
  } catch (const spdlog::spdlog_ex& e) {
    if (error) *error = e.what();
    return false;
  }
}

std::string log_quote(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(" \"=\t\n") == std::string::npos;
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace idunno::core
