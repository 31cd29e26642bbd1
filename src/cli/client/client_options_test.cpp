// The idunno client's options.

#include "cli/client/client_options.hpp"

#include <gtest/gtest.h>

namespace idunno::cli {
namespace {

TEST(ClientOptions, ParsesFlagsAndCommand) {
  const auto o = parse_client_options({"--node", "127.0.0.1:8003", "list_mem", "--json"}, nullptr, nullptr);
  EXPECT_EQ(o.node.port, 8003);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.command, "list_mem");
  EXPECT_TRUE(o.args.empty());
  const auto env = parse_client_options({"put", "a", "b"}, "127.0.0.1:8009", "tok");
  EXPECT_EQ(env.node.port, 8009);
  EXPECT_EQ(env.token, "tok");
  EXPECT_EQ(env.args, (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(parse_client_options({}, nullptr, nullptr), core::ConfigError);
  EXPECT_THROW(parse_client_options({"--node", "nope", "help"}, nullptr, nullptr), core::ConfigError);
  EXPECT_THROW(parse_client_options({"--what", "help"}, nullptr, nullptr), core::ConfigError);
}

}  // namespace
}  // namespace idunno::cli
