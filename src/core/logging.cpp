#include "core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <mutex>
#include <utility>

namespace idunno::core {

namespace {

// The console end of the node's logger: stderr, or whatever the terminal
// mode hands its lines to.
class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set_writer(ConsoleWriter writer) {
    std::lock_guard lock(mutex_);
    writer_ = std::move(writer);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string_view line(formatted.data(), formatted.size());
    if (!writer_) {
      std::fwrite(line.data(), 1, line.size(), stderr);
      return;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    writer_(line);
  }
  void flush_() override {
    if (!writer_) std::fflush(stderr);
  }

 private:
  ConsoleWriter writer_;
};

struct NodeSinks {
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
  std::shared_ptr<ConsoleSink> console;
};

std::mutex g_sinks_mutex;
NodeSinks g_sinks;  // set once by init_logging

// The logger lets through what either sink wants.
void update_logger_level(const NodeSinks& sinks) {
  sinks.logger->set_level(std::min(sinks.file->level(), sinks.console->level()));
}

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 8> kLevels{{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"warning", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

}  // namespace

bool init_logging(const std::filesystem::path& data_dir, const std::string& node_name,
                  const std::string& level, std::string* error) {
  try {
    const auto parsed = parse_log_level(level).value_or(spdlog::level::info);
    NodeSinks sinks;
    sinks.file = std::make_shared<spdlog::sinks::basic_file_sink_mt>((data_dir / "node.log").string());
    sinks.console = std::make_shared<ConsoleSink>();
    sinks.file->set_level(parsed);
    sinks.console->set_level(parsed);
    sinks.logger = std::make_shared<spdlog::logger>(node_name, spdlog::sinks_init_list{sinks.file, sinks.console});
    // ISO time, level, node, then the event's fields.
    sinks.logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l node=%n %v");
    update_logger_level(sinks);
    sinks.logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(sinks.logger);
    std::lock_guard lock(g_sinks_mutex);
    g_sinks = std::move(sinks);
    return true;
  } catch (const spdlog::spdlog_ex& e) {
    if (error) *error = e.what();
    return false;
  }
}

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return std::nullopt;
}

std::string log_level_choices() { return "one of trace, debug, info, warn, error, critical, off"; }

std::string log_level_name(spdlog::level::level_enum level) {
  for (const auto& [name, value] : kLevels) {
    if (value == level) return std::string(name);
  }
  return "off";
}

void set_console_log_level(spdlog::level::level_enum level) {
  std::lock_guard lock(g_sinks_mutex);
  if (!g_sinks.logger) return;
  g_sinks.console->set_level(level);
  update_logger_level(g_sinks);
}

spdlog::level::level_enum console_log_level() {
  std::lock_guard lock(g_sinks_mutex);
  return g_sinks.console ? g_sinks.console->level() : spdlog::level::off;
}

spdlog::level::level_enum file_log_level() {
  std::lock_guard lock(g_sinks_mutex);
  return g_sinks.file ? g_sinks.file->level() : spdlog::level::off;
}

void set_console_writer(ConsoleWriter writer) {
  std::lock_guard lock(g_sinks_mutex);
  if (g_sinks.console) g_sinks.console->set_writer(std::move(writer));
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
