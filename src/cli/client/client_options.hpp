#pragma once
// Command-line options of the idunno client (CONTRACT.md "The idunno
// client"). Pure; used by main_client.cpp and tests.

#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace idunno::cli {

struct ClientOptions {
  core::HostPort node{"127.0.0.1", 8001};
  std::string token;
  bool json = false;
  bool help = false;
  std::string command;
  std::vector<std::string> args;
};

// Exit codes of the client.
enum ClientExit : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3 };

// Parses argv (without argv[0]); `env_node` / `env_token` are $IDUNNO_NODE
// and $IDUNNO_TOKEN. Throws core::ConfigError naming the bad option.
ClientOptions parse_client_options(const std::vector<std::string>& args, const char* env_node,
                                   const char* env_token);

std::string client_usage();

}  // namespace idunno::cli
