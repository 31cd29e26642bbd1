// idunno: runs one command on a node through its console (CONTRACT.md "The
// idunno client"). Exit codes: 0 ok, 1 command failed, 2 usage, 3 unreachable.

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/client_options.hpp"
#include "cli/command_table.hpp"
#include "net/console/blocking_console_client.hpp"
#include "net/console/console_client.hpp"

namespace {

using namespace idunno;
namespace json = boost::json;

int fail(const cli::ClientOptions& options, int code, const std::string& message) {
  std::cerr << "idunno: " << message << "\n";
  if (options.json) std::cout << json::serialize(json::object{{"ok", false}, {"error", message}}) << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
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
  const auto& table = cli::CommandTable::builtin();
  if (auto problem = table.check(options.command, options.args)) {
    return fail(options, cli::kExitUsage, *problem);
  }
  try {
    net::console::BlockingConsoleClient client(options.node, options.token);
    const auto reply = client.call(options.command, options.args);
    if (!reply.outcome.ok) return fail(options, cli::kExitFailed, reply.outcome.error);
    if (options.json) {
      std::cout << json::serialize(reply.outcome.result) << "\n";
    } else {
      std::string text = cli::render_text(table, options.command, reply.outcome.result);
      if (!text.empty() && text.back() != '\n') text += '\n';
      std::cout << text;
    }
    return cli::kExitOk;
  } catch (const net::console::ConsoleUnreachable& e) {
    return fail(options, cli::kExitUnreachable, "cannot reach the node at " + options.node.to_string() + ": " + e.what());
  } catch (const net::console::ConsoleAuthError& e) {
    return fail(options, cli::kExitFailed, std::string("refused by the node: ") + e.what());
  } catch (const std::exception& e) {
    return fail(options, cli::kExitUnreachable, std::string("lost the node: ") + e.what());
  }
}
