#include "net/console/console_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "net/console/console_client.hpp"
#include "net/console/console_test_support.hpp"

namespace idunno::net::console::testing {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

json::value frame(std::string_view text) { return json::parse(text); }

TEST_F(ConsoleTest, RequestsAreAnsweredWithTheirIds) {
  start_server();
  auto handshake = run(ws_handshake(address_));
  ASSERT_EQ(handshake.status, 101u);
  RawWs& ws = *handshake.ws;
  EXPECT_EQ(run(ws.round_trip(R"({"id":1,"cmd":"echo","args":["a","b c"]})")),
            frame(R"({"id":1,"ok":true,"result":{"args":["a","b c"]}})"));
  EXPECT_EQ(run(ws.round_trip(R"({"id":"x","cmd":"fail","args":[]})")),
            frame(R"({"id":"x","ok":false,"error":"fail: it failed on purpose"})"));
  const json::value thrown = run(ws.round_trip(R"({"id":3,"cmd":"throw"})"));
  EXPECT_EQ(thrown.at("id"), json::value(3));
  EXPECT_FALSE(thrown.at("ok").as_bool());
  EXPECT_NE(std::string(thrown.at("error").as_string()).find("the handler threw"), std::string::npos);
}

TEST_F(ConsoleTest, ClientCallReturnsOutcomeAndRawReply) {
  start_server();
  ConsoleClient client(executor());
  run(client.connect(address_, ""));
  const ConsoleReply help = run(client.call("help", {}));
  ASSERT_TRUE(help.outcome.ok);
  EXPECT_EQ(help.outcome.result.at("commands").as_array().size(), 4u);
  EXPECT_EQ(help.raw.at("id"), json::value(1));
  const ConsoleReply failed = run(client.call("nope", {"x"}));
  EXPECT_FALSE(failed.outcome.ok);
  EXPECT_EQ(failed.outcome.error, "unknown command 'nope'; try help");
  EXPECT_EQ(failed.raw.at("id"), json::value(2));
  run(client.close());
}

TEST_F(ConsoleTest, CommandsOnOneSocketRunConcurrently) {
  start_server();
  auto handshake = run(ws_handshake(address_));
  ASSERT_TRUE(handshake.ws);
  RawWs& ws = *handshake.ws;
  run(ws.send(R"({"id":1,"cmd":"block"})"));
  // The echo is answered while the block is still in flight.
  EXPECT_EQ(run(ws.round_trip(R"({"id":2,"cmd":"echo","args":["fast"]})")).at("id"), json::value(2));
  EXPECT_EQ(commands_.blocked(), 1);
  run(ws.send(R"({"id":3,"cmd":"release"})"));
  std::set<std::int64_t> ids;
  ids.insert(run(ws.receive()).at("id").as_int64());
  ids.insert(run(ws.receive()).at("id").as_int64());
  EXPECT_EQ(ids, (std::set<std::int64_t>{1, 3}));
  EXPECT_EQ(commands_.blocked(), 0);
}

TEST_F(ConsoleTest, ManyRequestsInFlightAllGetTheirReply) {
  start_server();
  auto handshake = run(ws_handshake(address_));
  RawWs& ws = *handshake.ws;
  for (int id = 1; id <= 50; ++id) {
    run(ws.send(R"({"id":)" + std::to_string(id) + R"(,"cmd":"echo","args":[")" + std::to_string(id) + R"("]})"));
  }
  std::set<std::int64_t> ids;
  for (int i = 0; i < 50; ++i) {
    const json::value reply = run(ws.receive());
    const std::int64_t id = reply.at("id").as_int64();
    EXPECT_EQ(reply.at("result").at("args").at(0), json::value(std::to_string(id)));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(ConsoleTest, MalformedFramesGetErrorRepliesAndTheSessionGoesOn) {
  start_server();
  auto handshake = run(ws_handshake(address_));
  RawWs& ws = *handshake.ws;
  const json::value not_json = run(ws.round_trip("this is not json"));
  EXPECT_TRUE(not_json.at("id").is_null());
  EXPECT_FALSE(not_json.at("ok").as_bool());
  EXPECT_NE(std::string(not_json.at("error").as_string()).find("not valid JSON"), std::string::npos);

  EXPECT_TRUE(run(ws.round_trip("[1,2,3]")).at("id").is_null());
  const json::value no_cmd = run(ws.round_trip(R"({"id":5})"));
  EXPECT_EQ(no_cmd.at("id"), json::value(5));
  EXPECT_FALSE(no_cmd.at("ok").as_bool());
  EXPECT_EQ(run(ws.round_trip(R"({"id":6,"cmd":"echo","args":[1]})")).at("ok"), json::value(false));
  EXPECT_EQ(run(ws.round_trip(R"({"id":7,"cmd":42})")).at("id"), json::value(7));

  run(ws.send_binary("\x01\x02"));
  EXPECT_NE(std::string(run(ws.receive()).at("error").as_string()).find("binary frames"), std::string::npos);

  EXPECT_EQ(run(ws.round_trip(R"({"id":8,"cmd":"echo","args":["still here"]})")),
            frame(R"({"id":8,"ok":true,"result":{"args":["still here"]}})"));
}

TEST_F(ConsoleTest, OversizedFrameClosesTheSessionWithTooBig) {
  ConsoleLimits limits;
  limits.max_frame_bytes = 1024;
  start_server("", limits);
  auto handshake = run(ws_handshake(address_));
  RawWs& ws = *handshake.ws;
  run(ws.send(R"({"id":1,"cmd":"echo","args":[")" + std::string(2000, 'x') + R"("]})"));
  // The server sends close 1009 and tears down; whether the client's read
  // ends in `closed` or a socket error depends on who finishes first.
  EXPECT_TRUE(run(ws.read_until_closed()));
  EXPECT_EQ(ws.stream().reason().code, websocket::close_code::too_big);
  // The node itself goes on serving.
  EXPECT_EQ(run(http_get(address_, "/healthz")).body(), "ok");
}

TEST_F(ConsoleTest, HealthzAndMetricsOverPlainHttp) {
  start_server();
  const auto health = run(http_get(address_, "/healthz"));
  EXPECT_EQ(health.result(), http::status::ok);
  EXPECT_EQ(health.body(), "ok");

  const auto metrics = run(http_get(address_, "/metrics"));
  EXPECT_EQ(metrics.result(), http::status::ok);
  EXPECT_EQ(metrics[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body().find("idunno_test_metric 42\n"), std::string::npos);
  EXPECT_NE(metrics.body().find("idunno_console_connections 1\n"), std::string::npos);

  EXPECT_EQ(run(http_get(address_, "/nothing")).result(), http::status::not_found);
  EXPECT_EQ(run(http_get(address_, "/ws")).result(), http::status::upgrade_required);
}

TEST_F(ConsoleTest, ServesTheDashboardFile) {
  const auto page = std::filesystem::path(::testing::TempDir()) / "console_dashboard_test.html";
  std::ofstream(page) << "<html>the dashboard</html>";
  start_server("", {}, page);
  const auto response = run(http_get(address_, "/"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "<html>the dashboard</html>");
  EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(response["Content-Security-Policy"].find("default-src 'none'"), std::string::npos);
  std::filesystem::remove(page);
}

TEST_F(ConsoleTest, TheRepositoryDashboardIsSelfContained) {
  start_server("", {}, std::filesystem::path(IDUNNO_WEB_DIR) / "index.html");
  const std::string page = run(http_get(address_, "/")).body();
  ASSERT_NE(page.find("<title>IDunno console</title>"), std::string::npos);
  // It loads nothing from elsewhere, and talks to the console over /ws.
  EXPECT_NE(page.find("\"/ws\""), std::string::npos);
  for (const char* external : {"src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url("}) {
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  }
  for (const char* command : {"\"list_mem\"", "\"job-rates\"", "\"get-stats\"", "\"store\"", "\"subscribe\""}) {
    EXPECT_NE(page.find(command), std::string::npos) << command;
  }
}

TEST_F(ConsoleTest, MissingDashboardFileGetsABuiltInPageSayingSo) {
  start_server();
  const auto response = run(http_get(address_, "/"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_NE(response.body().find("no-such-dir/index.html"), std::string::npos);
  EXPECT_NE(response.body().find("was not found"), std::string::npos);
}

TEST_F(ConsoleTest, SubscribersReceivePublishedEventsOfTheirTopics) {
  start_server();
  ConsoleClient client(executor());
  run(client.connect(address_, ""));
  const ConsoleReply subscribed = run(client.call("subscribe", {"events"}));
  ASSERT_TRUE(subscribed.outcome.ok);
  EXPECT_EQ(subscribed.outcome.result, frame(R"({"subscribed":["events"]})"));
  EXPECT_EQ(server_->subscriber_count("events"), 1u);
  EXPECT_EQ(server_->subscriber_count("jobs"), 0u);

  server_->publish("jobs", json::object{{"type", "job"}, {"job", "a"}});
  server_->publish("events", json::object{{"type", "member"}, {"name", "node2"}});
  const WsEvent event = run(client.next_event());
  EXPECT_EQ(event.data, frame(R"({"type":"member","name":"node2"})"));

  // An event that arrives while a call waits for its reply is kept for later.
  server_->publish("events", json::object{{"kind", "second"}});
  EXPECT_TRUE(run(client.call("echo", {})).outcome.ok);
  EXPECT_EQ(run(client.next_event()).data.at("kind"), json::value("second"));

  EXPECT_TRUE(run(client.call("unsubscribe", {"events"})).outcome.ok);
  EXPECT_EQ(server_->subscriber_count("events"), 0u);
  EXPECT_FALSE(run(client.call("subscribe", {})).outcome.ok);
}

TEST_F(ConsoleTest, ASlowSubscriberIsDroppedInsteadOfBuffering) {
  ConsoleLimits limits;
  limits.max_queued_frames = 4;
  start_server("", limits);
  auto handshake = run(ws_handshake(address_));
  RawWs& ws = *handshake.ws;
  ASSERT_TRUE(run(ws.round_trip(R"({"id":1,"cmd":"subscribe","args":["events"]})")).at("ok").as_bool());
  // Published back to back, before the session's writer gets to run.
  for (int i = 0; i < 10; ++i) server_->publish("events", json::object{{"n", i}});
  EXPECT_TRUE(run(ws.read_until_closed()));
  EXPECT_NE(run(http_get(address_, "/metrics")).body().find("idunno_console_subscribers_dropped_total 1\n"),
            std::string::npos);
}

asio::awaitable<beast::error_code> read_until_closed(RawWs* ws) { co_return co_await ws->read_until_closed(); }

TEST_F(ConsoleTest, StopSendsAGoingAwayCloseToSessions) {
  start_server();
  auto handshake = run(ws_handshake(address_));
  RawWs& ws = *handshake.ws;
  EXPECT_TRUE(run(ws.round_trip(R"({"id":1,"cmd":"help"})")).at("ok").as_bool());
  const auto started = std::chrono::steady_clock::now();
  const beast::error_code error = run(server_->stop(std::chrono::seconds(5)) && read_until_closed(&ws));
  EXPECT_EQ(error, websocket::error::closed);
  EXPECT_EQ(ws.stream().reason().code, websocket::close_code::going_away);
  EXPECT_EQ(server_->connection_count(), 0u);
  // The session ended by the close handshake, not by the grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(ConsoleTest, ConnectionsBeyondTheLimitGet503) {
  ConsoleLimits limits;
  limits.max_connections = 1;
  start_server("", limits);
  ConsoleClient first(executor());
  run(first.connect(address_, ""));
  ConsoleClient second(executor());
  try {
    run(second.connect(address_, ""));
    FAIL() << "second connection accepted";
  } catch (const ConsoleUnreachable& e) {
    FAIL() << "wrong error type: " << e.what();
  } catch (const ConsoleAuthError& e) {
    FAIL() << "wrong error type: " << e.what();
  } catch (const ConsoleError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 503"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("too many console connections"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(run(first.call("help", {})).outcome.ok);
}

}  // namespace
}  // namespace idunno::net::console::testing
