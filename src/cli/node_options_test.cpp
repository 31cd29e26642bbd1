// idunno-node's options: overrides of the config file, and bad options named.

#include "cli/node_options.hpp"

#include <gtest/gtest.h>

namespace idunno::cli {
namespace {

TEST(NodeOptions, OverrideConfig) {
  const auto options = parse_node_options({"--name", "n5", "--bind", "127.0.0.1:7005", "--console",
                                           "127.0.0.1:8005", "--seed", "127.0.0.1:7001", "--seed",
                                           "127.0.0.1:7002", "--no-repl", "--log-level", "debug"});
  EXPECT_EQ(options.config.node_name(), "n5");
  EXPECT_EQ(options.config.node.bind.port, 7005);
  EXPECT_EQ(options.config.console.bind.port, 8005);
  EXPECT_EQ(options.config.cluster.seeds.size(), 2u);
  EXPECT_FALSE(options.repl);
  EXPECT_EQ(options.config.node.log_level, "debug");
}

TEST(NodeOptions, BadOptionsNamed) {
  auto key_of = [](std::vector<std::string> args) {
    try {
      parse_node_options(args);
    } catch (const core::ConfigError& e) {
      return e.key();
    }
    return std::string();
  };
  EXPECT_EQ(key_of({"--bind", "127.0.0.1:99999"}), "--bind");
  EXPECT_EQ(key_of({"--frobnicate"}), "--frobnicate");
  EXPECT_EQ(key_of({"--seed"}), "--seed");
  EXPECT_EQ(key_of({"--config", "/nonexistent/idunno.toml"}), "--config");
  EXPECT_TRUE(parse_node_options({"--help"}).help);
}

}  // namespace
}  // namespace idunno::cli
