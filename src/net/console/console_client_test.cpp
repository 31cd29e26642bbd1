#include "net/console/console_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "net/console/blocking_console_client.hpp"
#include "net/console/console_test_support.hpp"

namespace idunno::net::console::testing {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// A loopback port with nothing listening on it.
core::HostPort unused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return {"127.0.0.1", port};
}

TEST_F(ConsoleTest, ConnectingWhereNothingListensIsUnreachable) {
  ConsoleClient client(executor());
  try {
    run(client.connect(unused_port(), ""));
    FAIL() << "connected to nothing";
  } catch (const ConsoleUnreachable& e) {
    EXPECT_NE(std::string(e.what()).find("could not reach"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BlockingConsoleClient(unused_port(), ""), ConsoleUnreachable);
}

TEST_F(ConsoleTest, AServerThatNeverAnswersTheHandshakeIsUnreachable) {
  // A listener that accepts but never speaks: the handshake times out.
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const core::HostPort address{"127.0.0.1", silent.local_endpoint().port()};
  ConsoleClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(200);
  ConsoleClient client(executor(), options);
  EXPECT_THROW(run(client.connect(address, "")), ConsoleUnreachable);
}

asio::awaitable<std::string> unreachable_message(ConsoleClient* client) {
  try {
    co_await client->next_event();
  } catch (const ConsoleUnreachable& e) {
    co_return e.what();
  }
  co_return "";
}

TEST_F(ConsoleTest, ANodeThatStopsIsReportedAsUnreachable) {
  start_server();
  ConsoleClient client(executor());
  run(client.connect(address_, ""));
  const std::string message = run(server_->stop() && unreachable_message(&client));
  EXPECT_NE(message.find("closed the console connection (code 1001"), std::string::npos) << message;
  EXPECT_FALSE(client.is_open());
}

TEST_F(ConsoleTest, ACallWithoutAReplyInTimeIsUnreachable) {
  start_server();
  ConsoleClientOptions options;
  options.call_timeout = std::chrono::milliseconds(100);
  ConsoleClient client(executor(), options);
  run(client.connect(address_, ""));
  EXPECT_THROW(run(client.call("block", {})), ConsoleUnreachable);
  EXPECT_FALSE(client.is_open());
}

// The CLI's path: a blocking client in this thread, the node's loop in another.
TEST(BlockingConsoleClient, RunsCommandsAgainstANodeOnAnotherThread) {
  idunno::testing::LoopThread node_loop;
  FakeCommands commands(node_loop.executor());
  ConsoleServer server(node_loop.executor(), {"127.0.0.1", 0}, commands.handler(), {}, "t0ken", "index.html");
  server.start();
  node_loop.start();

  {
    BlockingConsoleClient client(server.local_address(), "t0ken");
    const ConsoleReply reply = client.call("echo", {"one", "two"});
    EXPECT_TRUE(reply.outcome.ok);
    EXPECT_EQ(reply.outcome.result, json::parse(R"({"args":["one","two"]})"));
    EXPECT_EQ(reply.raw, json::parse(R"({"id":1,"ok":true,"result":{"args":["one","two"]}})"));
    const ConsoleReply failed = client.call("fail", {});
    EXPECT_FALSE(failed.outcome.ok);
    EXPECT_EQ(failed.outcome.error, "fail: it failed on purpose");
  }
  EXPECT_THROW(BlockingConsoleClient(server.local_address(), "wrong"), ConsoleAuthError);

  node_loop.run(server.stop());
  node_loop.stop();
}

}  // namespace
}  // namespace idunno::net::console::testing
