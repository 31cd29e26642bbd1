#include "cli/node_options.hpp"

#include <optional>

namespace idunno::cli {

using core::ConfigError;
using core::HostPort;

std::string node_usage() {
  return R"(usage: idunno-node [--config FILE] [options]

Runs one IDunno node: membership (SWIM over UDP), cluster RPC and file
transfer (TCP) on --bind, the HTTP/WebSocket console on --console.

options (each overrides the config file):
  --config FILE        TOML configuration (see config.toml for every key)
  --name NAME          node name                        [node] name
  --bind HOST:PORT     UDP+TCP cluster address          [node] bind
  --advertise HOST:PORT  address others reach us at     [node] advertise
  --console HOST:PORT  console address                  [console] bind
  --token TOKEN        console token                    [console] token
  --data-dir DIR       data and log folder              [node] data_dir
  --seed HOST:PORT     a seed to join through (repeat)  [cluster] seeds
  --log-level LEVEL    trace|debug|info|warn|error      [node] log_level
  --no-repl            no terminal command mode
  --help               this text

SIGINT/SIGTERM leave the group gracefully and exit 0. Exit code 2: a bad
option or configuration (the message names it).
)";
}

namespace {
HostPort address_option(const std::string& option, const std::string& value) {
  auto parsed = core::parse_host_port(value);
  if (!parsed) throw ConfigError(option, "'" + value + "' is not HOST:PORT with a port between 1 and 65535");
  return *parsed;
}
}  // namespace

NodeOptions parse_node_options(const std::vector<std::string>& args) {
  NodeOptions options;
  std::optional<std::string> config_path;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    }
    if (arg == "--no-repl") {
      options.repl = false;
      continue;
    }
    static const char* with_value[] = {"--config", "--name",     "--bind", "--advertise", "--console",
                                       "--token",  "--data-dir", "--seed", "--log-level"};
    bool known = false;
    for (const char* name : with_value) known = known || arg == name;
    if (!known) {
      throw ConfigError(arg, arg.rfind("-", 0) == 0 ? "unknown option; see --help" : "unexpected argument; see --help");
    }
    if (i + 1 >= args.size()) throw ConfigError(arg, "needs a value; see --help");
    const std::string& value = args[++i];
    if (arg == "--config") {
      config_path = value;
    } else {
      overrides.emplace_back(arg, value);
    }
  }

  if (config_path) options.config = core::load_config_file(*config_path);
  auto& c = options.config;
  bool seeds_reset = false;
  for (const auto& [option, value] : overrides) {
    if (option == "--name") {
      c.node.name = value;
    } else if (option == "--bind") {
      c.node.bind = address_option(option, value);
    } else if (option == "--advertise") {
      c.node.advertise = address_option(option, value);
    } else if (option == "--console") {
      c.console.bind = address_option(option, value);
    } else if (option == "--token") {
      c.console.token = value;
    } else if (option == "--data-dir") {
      if (value.empty()) throw ConfigError(option, "needs a folder");
      c.node.data_dir = value;
    } else if (option == "--seed") {
      // Seeds given on the command line replace the file's list.
      if (!seeds_reset) c.cluster.seeds.clear();
      seeds_reset = true;
      c.cluster.seeds.push_back(address_option(option, value));
    } else if (option == "--log-level") {
      c.node.log_level = value;
    }
  }
  return options;
}

}  // namespace idunno::cli
