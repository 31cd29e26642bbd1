// Data streams on the FakeNetwork: bytes and trailers both ways, pooled
// connections, credit (a slow receiver slows the sender and bounds the
// memory), and the write, idle and deadline timeouts.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <memory>
#include <string>

#include "core/task_group.hpp"
#include "net/data_stream_test_support.hpp"
#include "net/rpc_test_support.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using testing::Gate;
using testing::pattern;
using testing::Received;

// What a sink handler saw.
struct Sink {
  std::string method, header, bytes, trailer;
  std::uint64_t term = 0;
  StreamStatus status;
  bool done = false;
};

// Accepts with a reply header, reads to the end and acknowledges with the
// byte count.
DataStreamHandler sink_handler(std::shared_ptr<Sink> sink) {
  return [sink](DataStream stream) -> asio::awaitable<void> {
    sink->method = stream.method();
    sink->header = stream.header();
    sink->term = stream.term();
    co_await stream.accept("welcome");
    Received got = co_await testing::read_to_end(stream);
    sink->bytes = std::move(got.bytes);
    sink->trailer = stream.trailer();
    sink->status = got.status;
    if (got.ended) co_await stream.finish("got " + std::to_string(sink->bytes.size()));
    sink->done = true;
  };
}

// Spawned: the test keeps the flags alive until its task group joins.
asio::awaitable<void> send_and_flag(DataStream stream, StreamStatus* out, bool* done) {
  *out = co_await testing::send_all(stream, pattern(1'000'000), "");
  *done = true;
}

class DataStreamTest : public testing::DataStreamTestBase {};

TEST_F(DataStreamTest, TransfersBytesAndTrailersBothWays) {
  make();
  auto sink = std::make_shared<Sink>();
  server_->handle("test.sink", sink_handler(sink));
  server_->start();
  DataStream stream = open("test.sink", "file=a", {.term = 7, .deadline = 10s});
  ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
  EXPECT_EQ(stream.reply_header(), "welcome");
  const std::string data = pattern(1'000'000);
  StreamStatus sent = run(testing::send_all(stream, data, "sum=42"));
  ASSERT_TRUE(sent.ok()) << sent.describe();
  Received reply = run(testing::read_to_end(stream));
  EXPECT_TRUE(reply.ended) << reply.status.describe();
  EXPECT_EQ(stream.trailer(), "got 1000000");
  EXPECT_TRUE(stream.ended());
  EXPECT_TRUE(run_until([&] { return sink->done; }));
  EXPECT_EQ(sink->method, "test.sink");
  EXPECT_EQ(sink->header, "file=a");
  EXPECT_EQ(sink->term, 7u);
  EXPECT_EQ(sink->trailer, "sum=42");
  EXPECT_TRUE(sink->bytes == data) << "payload differs";
  EXPECT_EQ(stream.bytes_sent(), data.size());
}

TEST_F(DataStreamTest, ConnectionIsPooledAndReusedAfterACleanEnd) {
  make();
  auto sink = std::make_shared<Sink>();
  server_->handle("test.sink", sink_handler(sink));
  server_->start();
  for (int i = 0; i < 3; ++i) {
    DataStream stream = open("test.sink");
    ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
    ASSERT_TRUE(run(testing::send_all(stream, pattern(50'000), "")).ok());
    EXPECT_TRUE(run(testing::read_to_end(stream)).ended);
    EXPECT_EQ(client_->idle_connection_count(server_node), 1u);
  }
  EXPECT_EQ(client_->connection_count(), 1u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(DataStreamTest, SlowReceiverSlowsTheSenderAndBoundsWhatWaits) {
  client_limits_.write_timeout_ms = 10000;  // the consumer may take its time here
  make();
  auto gate = std::make_shared<Gate>(executor());
  auto got = std::make_shared<Received>();
  auto server_stream = std::make_shared<DataStream>();
  server_->handle("test.slow", [gate, got, server_stream](DataStream stream) -> asio::awaitable<void> {
    *server_stream = stream;
    co_await stream.accept();
    co_await gate->wait();  // the consumer is busy elsewhere
    *got = co_await testing::read_to_end(stream);
    co_await stream.finish();
  });
  server_->start();
  DataStream stream = open("test.slow");
  ASSERT_TRUE(stream.status().ok());
  StreamStatus sent;
  bool sending_done = false;
  core::TaskGroup senders(executor());
  senders.spawn(send_and_flag(stream, &sent, &sending_done));
  const auto window = client_limits_.window_bytes;
  EXPECT_TRUE(run_until([&] { return stream.bytes_sent() == window; }));
  testing::run_ready(io_);
  EXPECT_FALSE(sending_done);
  EXPECT_EQ(stream.bytes_sent(), window) << "the sender went past the receiver's window";
  EXPECT_LE(server_stream->bytes_received(), window);
  gate->release();
  run(senders.join());
  EXPECT_TRUE(sent.ok()) << sent.describe();
  EXPECT_TRUE(run(testing::read_to_end(stream)).ended);
  EXPECT_EQ(got->bytes.size(), 1'000'000u);
}

TEST_F(DataStreamTest, StalledReceiverTimesOutTheSender) {
  make();
  auto gate = std::make_shared<Gate>(executor());
  auto seen = std::make_shared<StreamStatus>();
  server_->handle("test.stall", [gate, seen](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    co_await gate->wait();  // never reads
    *seen = (co_await testing::read_to_end(stream)).status;
  });
  server_->start();
  DataStream stream = open("test.stall");
  ASSERT_TRUE(stream.status().ok());
  const auto start = std::chrono::steady_clock::now();
  StreamStatus sent = run(testing::send_all(stream, pattern(1'000'000), ""));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(sent.code, StreamCode::timed_out_write) << sent.describe();
  EXPECT_GE(elapsed, std::chrono::milliseconds(client_limits_.write_timeout_ms));
  EXPECT_LT(elapsed, std::chrono::milliseconds(client_limits_.write_timeout_ms) + 500ms);
  EXPECT_EQ(stream.status().code, StreamCode::timed_out_write);
  gate->release();
  EXPECT_TRUE(run_until([&] { return !seen->ok(); }));
  EXPECT_EQ(seen->code, StreamCode::cancelled_by_peer);
  EXPECT_EQ(seen->peer_code, static_cast<std::uint32_t>(StreamWireCode::write_timeout));
}

TEST_F(DataStreamTest, SilentPeerTimesOutIdle) {
  make();
  server_->handle("test.hold", [](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    co_await testing::read_to_end(stream);
  });
  server_->start();
  DataStream stream = open("test.hold");
  ASSERT_TRUE(stream.status().ok());
  network_->partition({server_node}, {client_node});  // not even keep-alives get through
  const auto start = std::chrono::steady_clock::now();
  Received got = run(testing::read_to_end(stream));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got.status.code, StreamCode::timed_out_idle) << got.status.describe();
  EXPECT_GE(elapsed, std::chrono::milliseconds(client_limits_.idle_timeout_ms) - 50ms);
  EXPECT_LT(elapsed, std::chrono::milliseconds(client_limits_.idle_timeout_ms) + 500ms);
}

TEST_F(DataStreamTest, KeepAlivesHoldASlowButLivePeer) {
  make();
  server_->handle("test.think", [](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    co_await testing::read_to_end(stream);
    co_await testing::pause(1500ms);  // e.g. an fsync, longer than the idle timeout
    co_await stream.finish("done");
  });
  server_->start();
  DataStream stream = open("test.think");
  ASSERT_TRUE(run(stream.finish()).ok());
  Received got = run(testing::read_to_end(stream));
  EXPECT_TRUE(got.ended) << got.status.describe();
  EXPECT_EQ(stream.trailer(), "done");
}

TEST_F(DataStreamTest, DeadlineEndsTheStreamOnBothSides) {
  make();
  auto seen = std::make_shared<StreamStatus>();
  server_->handle("test.hold", [seen](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    *seen = (co_await testing::read_to_end(stream)).status;
  });
  server_->start();
  DataStream stream = open("test.hold", {}, {.deadline = 200ms});
  ASSERT_TRUE(stream.status().ok());
  const auto start = std::chrono::steady_clock::now();
  Received got = run(testing::read_to_end(stream));
  EXPECT_EQ(got.status.code, StreamCode::deadline_exceeded) << got.status.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_TRUE(run_until([&] { return !seen->ok(); }));
  EXPECT_TRUE(seen->code == StreamCode::deadline_exceeded || seen->code == StreamCode::cancelled_by_peer)
      << seen->describe();
}

TEST_F(DataStreamTest, OpenToNobodyIsUnreachable) {
  make();
  DataStream stream = run(client_->open({"10.0.2.9", 7001}, "test.sink", ""));
  EXPECT_EQ(stream.status().code, StreamCode::unreachable);
  EXPECT_NE(stream.status().message.find("10.0.2.9:7001"), std::string::npos) << stream.status().message;
}

}  // namespace
}  // namespace idunno::net
