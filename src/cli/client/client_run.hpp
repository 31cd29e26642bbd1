#pragma once
// What the idunno client does with its parsed options: checks usage against
// the command table, runs the command on the node and prints the result,
// returning the exit code (CONTRACT.md: 0 ok, 1 failed, 2 usage, 3
// unreachable).
//
// Why: main() stays a few lines, and tests run the whole client (a test
// command table, a real console on loopback) in-process. A command with a
// local file argument is one streamed HTTP request (its spec's
// FileTransfer): an input file is checked before the node is contacted and
// sent as the body; an output file is written atomically from the
// response body. No local path is ever sent to the node.
//
// Blocking; one thread.

#include <cstdio>
#include <ostream>

#include "cli/client/client_options.hpp"
#include "cli/commands/command_table.hpp"

namespace idunno::cli {

struct ClientStreams {
  std::ostream& out;
  std::ostream& err;
  std::FILE* progress = nullptr;  // where the progress bar goes; null: none
  bool progress_is_terminal = false;
};

int run_client(const ClientOptions& options, const CommandTable& table, const ClientStreams& streams);

}  // namespace idunno::cli
