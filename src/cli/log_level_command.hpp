#pragma once
// The `log-level [LEVEL]` command: the level of the log lines this node
// shows on its console (its terminal, or stderr), changed live; the log file
// keeps the level it started with (core/logging.hpp).
//
// Why: the terminal mode shows only warnings and errors while the prompt is
// up; someone watching a node wants its info lines back without a restart,
// and then to quiet them again. Bound by the composition root; the handler
// touches only the logger, which is thread-safe.

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"

namespace idunno::cli {

void bind_log_level_command(CommandDispatcher& dispatcher);

// The command's effect and result; throws CommandError for an unknown level.
boost::json::value run_log_level(const std::vector<std::string>& args);

}  // namespace idunno::cli
