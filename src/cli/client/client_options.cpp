#include "cli/client/client_options.hpp"

namespace idunno::cli {

using core::ConfigError;

std::string client_usage() {
  return R"(usage: idunno [--node HOST:PORT] [--json] [--token T] COMMAND [ARGS...]

Runs one command on an IDunno node through its console and prints the
result. `idunno help` lists the commands.

  --node HOST:PORT  the node's console (default $IDUNNO_NODE or 127.0.0.1:8001)
  --json            print exactly one JSON object
  --token T         console token (default $IDUNNO_TOKEN)

exit codes: 0 success, 1 the command failed, 2 usage error, 3 node unreachable
)";
}

ClientOptions parse_client_options(const std::vector<std::string>& args, const char* env_node,
                                   const char* env_token) {
  ClientOptions options;
  if (env_node && *env_node) {
    auto parsed = core::parse_host_port(env_node);
    if (!parsed) throw ConfigError("IDUNNO_NODE", std::string("'") + env_node + "' is not HOST:PORT");
    options.node = *parsed;
  }
  if (env_token) options.token = env_token;
  std::size_t i = 0;
  // Options come before the command; --json is also taken after it.
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--node" || arg == "--token") {
      if (i + 1 >= args.size()) throw ConfigError(arg, "needs a value; see --help");
      const std::string& value = args[++i];
      if (arg == "--token") {
        options.token = value;
      } else {
        auto parsed = core::parse_host_port(value);
        if (!parsed) throw ConfigError(arg, "'" + value + "' is not HOST:PORT");
        options.node = *parsed;
      }
    } else if (arg.rfind("--", 0) == 0) {
      throw ConfigError(arg, "unknown option; see --help");
    } else {
      break;
    }
  }
  if (i == args.size()) throw ConfigError("COMMAND", "missing; `idunno help` lists the commands");
  options.command = args[i++];
  for (; i < args.size(); ++i) {
    if (args[i] == "--json") {
      options.json = true;
    } else {
      options.args.push_back(args[i]);
    }
  }
  return options;
}

}  // namespace idunno::cli
