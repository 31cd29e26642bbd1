#include "core/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace idunno::core {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Logging, ParsesLevelsAndRefusesUnknownWords) {
  EXPECT_EQ(parse_log_level("info"), spdlog::level::info);
  EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("warning"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
  EXPECT_EQ(parse_log_level("off"), spdlog::level::off);
  EXPECT_EQ(parse_log_level("loud"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
  EXPECT_EQ(parse_log_level("INFO"), std::nullopt);
  EXPECT_EQ(log_level_name(spdlog::level::err), "error");
  EXPECT_EQ(log_level_name(spdlog::level::warn), "warn");
}

// The terminal mode's promise: the console shows only what its level lets
// through while the file keeps everything at its own level.
TEST(Logging, ConsoleLevelFiltersTheConsoleNotTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("idunno-logging-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(init_logging(dir, "t", "info"));
  std::mutex mutex;
  std::vector<std::string> console;
  set_console_writer([&](std::string_view line) {
    std::lock_guard lock(mutex);
    console.emplace_back(line);
  });

  set_console_log_level(spdlog::level::warn);
  EXPECT_EQ(console_log_level(), spdlog::level::warn);
  EXPECT_EQ(file_log_level(), spdlog::level::info);
  spdlog::info("event=quiet_info");
  spdlog::warn("event=loud_warning");
  spdlog::debug("event=debug_nowhere");

  set_console_log_level(spdlog::level::info);
  spdlog::info("event=shown_info");

  // Below the file's level: the console shows it, the file does not.
  set_console_log_level(spdlog::level::debug);
  spdlog::debug("event=console_only_debug");
  spdlog::default_logger()->flush();
  set_console_writer({});

  ASSERT_EQ(console.size(), 3u);
  EXPECT_TRUE(contains(console[0], "warning node=t event=loud_warning")) << console[0];
  EXPECT_TRUE(contains(console[1], "info node=t event=shown_info")) << console[1];
  EXPECT_TRUE(contains(console[2], "event=console_only_debug")) << console[2];
  EXPECT_FALSE(contains(console[0], "\n"));

  const std::string file = read_file(dir / "node.log");
  EXPECT_TRUE(contains(file, "event=quiet_info"));
  EXPECT_TRUE(contains(file, "event=loud_warning"));
  EXPECT_TRUE(contains(file, "event=shown_info"));
  EXPECT_FALSE(contains(file, "event=debug_nowhere"));
  EXPECT_FALSE(contains(file, "event=console_only_debug"));

  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace idunno::core
