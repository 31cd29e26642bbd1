#pragma once
// Command-line options of idunno-node (CONTRACT.md "Running nodes").
//
// Why: options override the config file; both are checked before anything
// starts, so a bad option or key exits with code 2 and a message naming it.
// Pure functions; used by main_node.cpp and its tests.

#include <string>
#include <vector>

#include "core/config.hpp"

namespace idunno::cli {

struct NodeOptions {
  core::Config config;
  bool repl = true;   // false with --no-repl
  bool help = false;  // --help was given: print node_usage() and exit 0
};

// Parses argv (without argv[0]), loads --config if given and applies the
// overrides. Throws core::ConfigError naming the option or key. Does not
// validate the environment (validate_config does that).
NodeOptions parse_node_options(const std::vector<std::string>& args);

std::string node_usage();

}  // namespace idunno::cli
