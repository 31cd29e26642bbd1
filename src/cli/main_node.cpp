// idunno-node: one IDunno node (CONTRACT.md "Running nodes").

#include <iostream>
#include <string>
#include <vector>

#include "cli/node.hpp"
#include "cli/node_options.hpp"

int main(int argc, char** argv) {
  using namespace idunno;
  cli::NodeOptions options;
  try {
    options = cli::parse_node_options(std::vector<std::string>(argv + 1, argv + argc));
    if (options.help) {
      std::cout << cli::node_usage();
      return 0;
    }
    core::validate_config(options.config);
  } catch (const core::ConfigError& e) {
    std::cerr << "idunno-node: " << e.what() << "\n";
    return 2;
  }
  try {
    cli::Node node(std::move(options.config), options.repl);
    return node.run();
  } catch (const std::exception& e) {
    std::cerr << "idunno-node: " << e.what() << "\n";
    return 1;
  }
}
