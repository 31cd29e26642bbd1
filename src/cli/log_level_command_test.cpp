// `log-level [LEVEL]`: changes the console's level live, leaves the file's,
// and refuses an unknown level with a message that lists the levels.

#include "cli/log_level_command.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <filesystem>

#include "core/coro_test.hpp"
#include "core/logging.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
using net::console::CommandOutcome;

CommandOutcome run(CommandDispatcher& d, std::vector<std::string> args) {
  asio::io_context io;
  return idunno::testing::run_until_done(io, d.dispatch("log-level", std::move(args), CommandOrigin::terminal));
}

TEST(LogLevelCommand, ChangesTheConsoleLevelAndKeepsTheFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("idunno-log-level-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(core::init_logging(dir, "t", "info"));
  core::set_console_writer([](std::string_view) {});
  core::set_console_log_level(spdlog::level::warn);

  CommandDispatcher d(CommandTable::builtin());
  bind_log_level_command(d);

  const auto shown = run(d, {});
  ASSERT_TRUE(shown.ok) << shown.error;
  EXPECT_EQ(shown.result.at("level").as_string(), "warn");
  EXPECT_EQ(shown.result.at("file_level").as_string(), "info");

  const auto changed = run(d, {"debug"});
  ASSERT_TRUE(changed.ok) << changed.error;
  EXPECT_EQ(changed.result.at("level").as_string(), "debug");
  EXPECT_EQ(core::console_log_level(), spdlog::level::debug);
  EXPECT_EQ(core::file_log_level(), spdlog::level::info);
  EXPECT_EQ(render_text(CommandTable::builtin(), "log-level", changed.result),
            "terminal shows log lines at debug and above; the log file keeps info and above\n");

  const auto refused = run(d, {"loud"});
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("unknown log level 'loud'"), std::string::npos) << refused.error;
  EXPECT_NE(refused.error.find("trace, debug, info, warn, error"), std::string::npos) << refused.error;
  EXPECT_EQ(core::console_log_level(), spdlog::level::debug);  // unchanged

  const auto too_many = run(d, {"info", "warn"});
  EXPECT_FALSE(too_many.ok);
  EXPECT_NE(too_many.error.find("usage: log-level [LEVEL]"), std::string::npos) << too_many.error;

  const auto off = run(d, {"off"});
  ASSERT_TRUE(off.ok) << off.error;
  EXPECT_EQ(render_text(CommandTable::builtin(), "log-level", off.result),
            "terminal shows no log lines; the log file keeps info and above\n");

  core::set_console_writer({});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace idunno::cli
