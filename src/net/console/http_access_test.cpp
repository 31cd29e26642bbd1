#include "net/console/http_access.hpp"

#include <gtest/gtest.h>

namespace idunno::net::console {
namespace {

namespace http = boost::beast::http;

AccessDecision check(const std::string& token, std::string_view target, std::string_view authorization = {},
                     std::string_view host = "127.0.0.1:8001", std::string_view origin = {}) {
  static RequestTarget parsed;
  parsed = parse_target(target);
  return check_access(token, AccessRequest{route_of(parsed.path), authorization, host, origin, &parsed.query});
}

TEST(HttpAccess, SplitsTargetsAndDecodesQueries) {
  const auto target = parse_target("/ws?token=a%20b%2Bc&x=1&&flag");
  EXPECT_EQ(target.path, "/ws");
  EXPECT_EQ(target.query.at("token"), "a b+c");
  EXPECT_EQ(target.query.at("x"), "1");
  EXPECT_EQ(target.query.at("flag"), "");
  EXPECT_EQ(parse_target("/metrics").path, "/metrics");
  EXPECT_FALSE(percent_decode("%zz").has_value());
  EXPECT_FALSE(percent_decode("abc%2").has_value());
  EXPECT_TRUE(parse_target("/?token=%zz").query.empty());
}

TEST(HttpAccess, RoutesTheFourPaths) {
  EXPECT_EQ(route_of("/"), Route::index);
  EXPECT_EQ(route_of("/index.html"), Route::index);
  EXPECT_EQ(route_of("/ws"), Route::websocket);
  EXPECT_EQ(route_of("/metrics"), Route::metrics);
  EXPECT_EQ(route_of("/healthz"), Route::healthz);
  EXPECT_EQ(route_of("/etc/passwd"), Route::not_found);
}

TEST(HttpAccess, WithATokenEveryRouteNeedsIt) {
  for (const char* target : {"/", "/ws", "/metrics", "/healthz", "/nothing"}) {
    EXPECT_EQ(check("s3cret", target).status, http::status::unauthorized) << target;
    EXPECT_EQ(check("s3cret", target, "Bearer wrong").status, http::status::unauthorized) << target;
    EXPECT_TRUE(check("s3cret", target, "Bearer s3cret").allowed()) << target;
    EXPECT_TRUE(check("s3cret", target, "bearer s3cret").allowed()) << target;
  }
  EXPECT_NE(check("s3cret", "/ws").reason.find("Authorization: Bearer"), std::string::npos);
  EXPECT_NE(check("s3cret", "/ws", "Bearer x").reason.find("wrong console token"), std::string::npos);
}

TEST(HttpAccess, QueryTokenOnlyOnThePageAndTheWebSocket) {
  EXPECT_TRUE(check("s3cret", "/?token=s3cret").allowed());
  EXPECT_TRUE(check("s3cret", "/ws?token=s3cret").allowed());
  EXPECT_FALSE(check("s3cret", "/ws?token=s3cre").allowed());
  EXPECT_FALSE(check("s3cret", "/metrics?token=s3cret").allowed());
  EXPECT_FALSE(check("s3cret", "/healthz?token=s3cret").allowed());
}

TEST(HttpAccess, WithATokenAnyHostAndOriginMayConnect) {
  EXPECT_TRUE(check("t", "/ws", "Bearer t", "node1.example:8001", "http://elsewhere.example").allowed());
}

TEST(HttpAccess, WithoutATokenOnlyLoopbackHostsAreServed) {
  EXPECT_TRUE(check("", "/metrics").allowed());
  EXPECT_TRUE(check("", "/metrics", {}, "localhost:8001").allowed());
  EXPECT_TRUE(check("", "/metrics", {}, "[::1]:8001").allowed());
  EXPECT_TRUE(check("", "/metrics", {}, "").allowed());
  // A DNS-rebinding page reaches 127.0.0.1 under its own name.
  EXPECT_EQ(check("", "/ws", {}, "attacker.example:8001").status, http::status::forbidden);
}

TEST(HttpAccess, WithoutATokenBrowsersMayOpenTheWebSocketOnlyFromTheConsolesOwnPage) {
  EXPECT_TRUE(check("", "/ws", {}, "127.0.0.1:8001", "http://127.0.0.1:8001").allowed());
  EXPECT_EQ(check("", "/ws", {}, "127.0.0.1:8001", "https://attacker.example").status, http::status::forbidden);
  EXPECT_EQ(check("", "/ws", {}, "127.0.0.1:8001", "null").status, http::status::forbidden);
  EXPECT_EQ(check("", "/ws", {}, "127.0.0.1:8001", "http://127.0.0.1:9999").status, http::status::forbidden);
}

TEST(HttpAccess, HostOfStripsPortsAndBrackets) {
  EXPECT_EQ(host_of("127.0.0.1:8001"), "127.0.0.1");
  EXPECT_EQ(host_of("localhost"), "localhost");
  EXPECT_EQ(host_of("[::1]:8001"), "::1");
  EXPECT_EQ(host_of("::1"), "::1");
}

TEST(HttpAccess, ConstantTimeEqualIsEquality) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace idunno::net::console
