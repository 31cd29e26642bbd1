#include "cli/log_level_command.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"

namespace idunno::cli {

namespace json = boost::json;

json::value run_log_level(const std::vector<std::string>& args) {
  if (!args.empty()) {
    const auto level = core::parse_log_level(args[0]);
    if (!level) {
      throw CommandError("unknown log level '" + args[0] + "': " + core::log_level_choices() +
                         " (e.g. log-level info)");
    }
    core::set_console_log_level(*level);
    spdlog::info("event=console_log_level level={}", core::log_level_name(*level));
  }
  const std::string console = core::log_level_name(core::console_log_level());
  const std::string file = core::log_level_name(core::file_log_level());
  const std::string shown =
      console == "off" ? "terminal shows no log lines" : "terminal shows log lines at " + console + " and above";
  const std::string kept = file == "off" ? "the log file keeps none" : "the log file keeps " + file + " and above";
  return json::object{{"level", console}, {"file_level", file}, {"message", shown + "; " + kept}};
}

void bind_log_level_command(CommandDispatcher& dispatcher) {
  dispatcher.bind("log-level", [](std::vector<std::string> args) -> boost::asio::awaitable<json::value> {
    co_return run_log_level(args);
  });
}

}  // namespace idunno::cli
