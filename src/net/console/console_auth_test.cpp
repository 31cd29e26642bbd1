#include <gtest/gtest.h>

#include "net/console/console_client.hpp"
#include "net/console/console_server.hpp"
#include "net/console/console_test_support.hpp"

namespace idunno::net::console::testing {
namespace {

constexpr const char* kToken = "s3cret-token";

class ConsoleAuthTest : public ConsoleTest {
 protected:
  // Runs a ConsoleClient connect; returns the auth refusal message, or ""
  // when it got in.
  std::string refusal_of(asio::awaitable<void> connecting) {
    try {
      run(std::move(connecting));
      return "";
    } catch (const ConsoleAuthError& e) {
      return e.what();
    }
  }
};

TEST_F(ConsoleAuthTest, UpgradeWithoutTheTokenIsRefusedWith401) {
  start_server(kToken);
  const Handshake missing = run(ws_handshake(address_));
  EXPECT_EQ(missing.status, 401u);
  EXPECT_FALSE(missing.ws);
  EXPECT_NE(missing.body.find("requires a token"), std::string::npos) << missing.body;

  const Handshake wrong = run(ws_handshake(address_, "/ws", {{"Authorization", "Bearer nope"}}));
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_NE(wrong.body.find("wrong console token"), std::string::npos) << wrong.body;

  const Handshake wrong_query = run(ws_handshake(address_, "/ws?token=nope"));
  EXPECT_EQ(wrong_query.status, 401u);
}

TEST_F(ConsoleAuthTest, ClientReportsARefusalAsAnAuthError) {
  start_server(kToken);
  ConsoleClient without(executor());
  EXPECT_NE(refusal_of(without.connect(address_, "")).find("requires a token"), std::string::npos);
  ConsoleClient wrong(executor());
  EXPECT_NE(refusal_of(wrong.connect(address_, "wrong")).find("wrong console token"), std::string::npos);
}

TEST_F(ConsoleAuthTest, TheRightTokenInTheHeaderIsAccepted) {
  start_server(kToken);
  ConsoleClient client(executor());
  run(client.connect(address_, kToken));
  EXPECT_TRUE(run(client.call("echo", {"in"})).outcome.ok);

  const Handshake raw = run(ws_handshake(address_, "/ws", {{"Authorization", std::string("Bearer ") + kToken}}));
  ASSERT_EQ(raw.status, 101u);
  EXPECT_TRUE(run(raw.ws->round_trip(R"({"id":1,"cmd":"help"})")).at("ok").as_bool());
}

TEST_F(ConsoleAuthTest, TheRightTokenInTheQueryIsAccepted) {
  start_server(kToken);
  const Handshake raw = run(ws_handshake(address_, std::string("/ws?token=") + kToken));
  ASSERT_EQ(raw.status, 101u);
  EXPECT_EQ(run(raw.ws->round_trip(R"({"id":4,"cmd":"echo","args":["q"]})")).at("id"), json::value(4));
}

TEST_F(ConsoleAuthTest, PlainRoutesNeedTheTokenToo) {
  start_server(kToken);
  const auto refused = run(http_get(address_, "/healthz"));
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_EQ(refused[http::field::www_authenticate], "Bearer realm=\"idunno console\"");
  EXPECT_EQ(run(http_get(address_, "/metrics")).result(), http::status::unauthorized);
  EXPECT_EQ(run(http_get(address_, "/metrics?token=s3cret-token")).result(), http::status::unauthorized);
  EXPECT_EQ(run(http_get(address_, "/healthz", {{"Authorization", std::string("Bearer ") + kToken}})).body(), "ok");
  // The browser opens the page with the token in its URL.
  EXPECT_EQ(run(http_get(address_, "/?token=s3cret-token")).result(), http::status::ok);
}

TEST_F(ConsoleAuthTest, WithoutATokenAnotherOriginCannotOpenTheWebSocket) {
  start_server();
  const Handshake foreign = run(ws_handshake(address_, "/ws", {{"Origin", "https://attacker.example"}}));
  EXPECT_EQ(foreign.status, 403u);
  const Handshake own = run(ws_handshake(address_, "/ws", {{"Origin", "http://" + address_.to_string()}}));
  EXPECT_EQ(own.status, 101u);
  const Handshake rebound = run(ws_handshake(address_, "/ws", {{"Host", "attacker.example"}}));
  EXPECT_EQ(rebound.status, 403u);
}

TEST_F(ConsoleAuthTest, RefusesToServeBeyondLoopbackWithoutAToken) {
  for (const char* host : {"0.0.0.0", "::", "192.168.1.10"}) {
    try {
      ConsoleServer server(executor(), core::HostPort{host, 8001}, commands_.handler(), {}, "", "index.html");
      FAIL() << "accepted " << host;
    } catch (const ConsoleStartError& e) {
      EXPECT_NE(std::string(e.what()).find("console.token"), std::string::npos) << e.what();
    }
  }
  // With a token it may be built (not started here: tests stay on loopback).
  EXPECT_NO_THROW(ConsoleServer(executor(), core::HostPort{"0.0.0.0", 8001}, commands_.handler(), {}, kToken,
                                "index.html"));
  EXPECT_NO_THROW(ConsoleServer(executor(), core::HostPort{"localhost", 8001}, commands_.handler(), {}, "",
                                "index.html"));
}

TEST_F(ConsoleAuthTest, AnAddressInUseIsAClearStartError) {
  start_server();
  ConsoleServer second(executor(), address_, commands_.handler(), {}, "", "index.html");
  try {
    second.start();
    FAIL() << "bound a port already in use";
  } catch (const ConsoleStartError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen"), std::string::npos) << e.what();
  }
  run(second.stop());
}

}  // namespace
}  // namespace idunno::net::console::testing
