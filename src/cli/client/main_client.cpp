// idunno: runs one command on a node through its console (CONTRACT.md "The
// idunno client"). Exit codes: 0 ok, 1 command failed, 2 usage, 3 unreachable.

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/client/client_options.hpp"
#include "cli/client/client_run.hpp"
#include "cli/commands/command_table.hpp"

int main(int argc, char** argv) {
  using namespace idunno;
  cli::ClientOptions options;
  try {
    options = cli::parse_client_options(std::vector<std::string>(argv + 1, argv + argc), std::getenv("IDUNNO_NODE"),
                                        std::getenv("IDUNNO_TOKEN"));
  } catch (const core::ConfigError& e) {
    std::cerr << "idunno: " << e.what() << "\n" << cli::client_usage();
    return cli::kExitUsage;
  }
  if (options.help) {
    std::cout << cli::client_usage();
    return cli::kExitOk;
  }
  return cli::run_client(options, cli::CommandTable::builtin(),
                         cli::ClientStreams{std::cout, std::cerr, stderr, ::isatty(STDERR_FILENO) != 0});
}
