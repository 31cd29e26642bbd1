// The console URLs nodes exchange: how one is made from a bound address,
// its host read back (what decides whether a client elsewhere could reach
// it), and origins compared.

#include "cli/console_directory.hpp"

#include <gtest/gtest.h>

namespace idunno::cli {
namespace {

TEST(ConsoleUrls, AUrlIsMadeFromTheBoundAddressAndItsHostReadBack) {
  EXPECT_EQ(console_url({"127.0.0.3", 8003}, "10.0.0.3"), "http://127.0.0.3:8003");
  EXPECT_EQ(console_url({"0.0.0.0", 8001}, "10.0.0.3"), "http://10.0.0.3:8001");  // a wildcard bind: advertised
  EXPECT_EQ(console_url({"::1", 8001}, "x"), "http://[::1]:8001");
  EXPECT_EQ(host_of_url("http://127.0.0.3:8003"), "127.0.0.3");
  EXPECT_EQ(host_of_url("http://10.0.0.3:8001/v1/files/a?version=2"), "10.0.0.3");
  EXPECT_EQ(host_of_url("http://[::1]:8001"), "::1");
  EXPECT_EQ(host_of_url("http://node-a"), "node-a");
  EXPECT_TRUE(core::is_loopback_host(host_of_url(console_url({"127.0.0.1", 8001}, "10.0.0.1"))));
  EXPECT_FALSE(core::is_loopback_host(host_of_url(console_url({"0.0.0.0", 8001}, "10.0.0.1"))));
}

TEST(ConsoleUrls, ALoopbackConsoleIsGivenOnlyToClientsOnItsOwnMachine) {
  // A local cluster: every node and console on loopback.
  EXPECT_TRUE(reachable_by_clients("http://127.0.0.1:8003", {"127.0.0.1", 7003}, "http://127.0.0.1:8001"));
  // A member elsewhere whose console listens on its own loopback.
  EXPECT_FALSE(reachable_by_clients("http://127.0.0.1:8001", {"10.0.0.3", 7001}, "http://127.0.0.1:8001"));
  // A member here, but this node's clients may be elsewhere.
  EXPECT_FALSE(reachable_by_clients("http://127.0.0.1:8003", {"127.0.0.1", 7003}, "http://10.0.0.1:8001"));
  // A console on a routable address serves anyone.
  EXPECT_TRUE(reachable_by_clients("http://10.0.0.3:8001", {"10.0.0.3", 7001}, "http://127.0.0.1:8001"));
  EXPECT_TRUE(reachable_by_clients("http://[fd00::3]:8001", {"fd00::3", 7001}, "http://10.0.0.1:8001"));
}

TEST(ConsoleUrls, OriginsCompareWithDefaultPortsAndCaseNormalised) {
  EXPECT_EQ(normal_origin("HTTP://Node-A"), "http://node-a:80");
  EXPECT_EQ(normal_origin("https://node-a/"), "https://node-a:443");
  EXPECT_EQ(normal_origin("http://127.0.0.1:8001"), "http://127.0.0.1:8001");
}

}  // namespace
}  // namespace idunno::cli
