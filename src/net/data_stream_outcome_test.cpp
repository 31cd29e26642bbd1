// Data streams on the FakeNetwork: every way a stream can end besides a
// clean end (cancellation from either side, rejections, caps, a failing or
// early handler, a stopping server) and the transfers SDFS is built on (a
// put pipelined along a chain of replicas, a range read).
#include <memory>
#include <string>

#include "core/task_group.hpp"
#include "net/data_stream_test_support.hpp"
#include "net/rpc_test_support.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::Gate;
using testing::pattern;
using testing::Received;

constexpr std::uint32_t stale_term = static_cast<std::uint32_t>(StreamWireCode::app_code_base) + 1;

class DataStreamOutcomeTest : public testing::DataStreamTestBase {};

TEST_F(DataStreamOutcomeTest, ClientCancelReachesTheHandlerWithCodeAndReason) {
  make();
  auto seen = std::make_shared<StreamStatus>();
  server_->handle("test.read", [seen](DataStream stream) -> asio::awaitable<void> {
    *seen = (co_await testing::read_to_end(stream)).status;
  });
  server_->start();
  DataStream stream = open("test.read");
  ASSERT_TRUE(run(stream.write(testing::bytes_of("partial"))).ok());
  stream.cancel(stale_term, "the client gave up");
  EXPECT_EQ(stream.status().code, StreamCode::cancelled_locally);
  EXPECT_EQ(run(stream.write(testing::bytes_of("more"))).code, StreamCode::cancelled_locally);
  EXPECT_TRUE(run_until([&] { return !seen->ok(); }));
  EXPECT_EQ(seen->code, StreamCode::cancelled_by_peer);
  EXPECT_EQ(seen->peer_code, stale_term);
  EXPECT_EQ(seen->message, "the client gave up");
}

TEST_F(DataStreamOutcomeTest, DroppingTheLastHandleCancelsTheStream) {
  make();
  auto seen = std::make_shared<StreamStatus>();
  server_->handle("test.read", [seen](DataStream stream) -> asio::awaitable<void> {
    *seen = (co_await testing::read_to_end(stream)).status;
  });
  server_->start();
  {
    DataStream stream = open("test.read");
    ASSERT_TRUE(run(stream.write(testing::bytes_of("forgotten"))).ok());
  }
  EXPECT_TRUE(run_until([&] { return !seen->ok(); }));
  EXPECT_EQ(seen->code, StreamCode::cancelled_by_peer);
  EXPECT_EQ(seen->peer_code, static_cast<std::uint32_t>(StreamWireCode::cancelled));
  EXPECT_NE(seen->message.find("dropped"), std::string::npos) << seen->message;
}

TEST_F(DataStreamOutcomeTest, CrashedPeerIsAConnectionReset) {
  make();
  server_->handle("test.read", [](DataStream stream) -> asio::awaitable<void> {
    co_await testing::read_to_end(stream);
  });
  server_->start();
  DataStream stream = open("test.read");
  ASSERT_TRUE(stream.status().ok());
  network_->crash(server_node);
  Received got = run(testing::read_to_end(stream));
  EXPECT_EQ(got.status.code, StreamCode::connection_reset) << got.status.describe();
}

TEST_F(DataStreamOutcomeTest, ServerCancelReachesTheClient) {
  make();
  server_->handle("test.refuse_midway", [](DataStream stream) -> asio::awaitable<void> {
    std::vector<std::uint8_t> buffer(100);
    co_await stream.read(buffer);
    stream.cancel(stale_term, "disk full");
  });
  server_->start();
  DataStream stream = open("test.refuse_midway");
  StreamStatus sent = run(testing::send_all(stream, pattern(2'000'000), ""));
  Received got = run(testing::read_to_end(stream));
  const StreamStatus& status = sent.ok() ? got.status : sent;
  EXPECT_EQ(status.code, StreamCode::cancelled_by_peer) << status.describe();
  EXPECT_EQ(status.peer_code, stale_term);
  EXPECT_EQ(status.message, "disk full");
}

TEST_F(DataStreamOutcomeTest, RejectionsCarryTheirCodeAndLeaveTheConnectionUsable) {
  server_limits_.max_streams = 1;
  make();
  auto hold = std::make_shared<Gate>(executor());
  server_->handle("test.fenced", [](DataStream stream) -> asio::awaitable<void> {
    if (stream.term() < 5) {
      stream.reject(stale_term, "term " + std::to_string(stream.term()) + " is stale");
      co_return;
    }
    co_await stream.finish();
  });
  server_->handle("test.hold", [hold](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    co_await hold->wait();
  });
  server_->start();
  DataStream stale = open("test.fenced", "", {.term = 3});
  EXPECT_EQ(stale.status().code, StreamCode::rejected);
  EXPECT_EQ(stale.status().peer_code, stale_term);
  EXPECT_EQ(stale.status().message, "term 3 is stale");
  DataStream unknown = open("test.nothing");
  EXPECT_EQ(unknown.status().code, StreamCode::rejected);
  EXPECT_EQ(unknown.status().peer_code, static_cast<std::uint32_t>(StreamWireCode::unknown_method));
  EXPECT_EQ(client_->connection_count(), 1u) << "a rejection closed the connection";
  DataStream held = open("test.hold");
  ASSERT_TRUE(held.status().ok());
  DataStream busy = open("test.fenced", "", {.term = 9});
  EXPECT_EQ(busy.status().code, StreamCode::rejected);
  EXPECT_EQ(busy.status().peer_code, static_cast<std::uint32_t>(StreamWireCode::busy));
  hold->release();
  EXPECT_TRUE(run(testing::read_to_end(held)).ended);
  DataStream fresh = open("test.fenced", "", {.term = 9});
  EXPECT_TRUE(fresh.status().ok()) << fresh.status().describe();
}

TEST_F(DataStreamOutcomeTest, DeclaredSizeCapsTheSender) {
  make();
  server_->handle("test.read", [](DataStream stream) -> asio::awaitable<void> {
    co_await testing::read_to_end(stream);
  });
  server_->start();
  DataStream stream = open("test.read", "", {.declared_bytes = 1000});
  ASSERT_TRUE(run(stream.write(testing::bytes_of(pattern(1000)))).ok());
  StreamStatus over = run(stream.write(testing::bytes_of("x")));
  EXPECT_EQ(over.code, StreamCode::cap_exceeded) << over.describe();
}

TEST_F(DataStreamOutcomeTest, ReceiverEnforcesItsMaximum) {
  server_limits_.max_bytes = 100'000;
  make();
  auto seen = std::make_shared<StreamStatus>();
  server_->handle("test.read", [seen](DataStream stream) -> asio::awaitable<void> {
    *seen = (co_await testing::read_to_end(stream)).status;
  });
  server_->start();
  DataStream stream = open("test.read");
  StreamStatus sent = run(testing::send_all(stream, pattern(300'000), ""));
  Received got = run(testing::read_to_end(stream));
  const StreamStatus& status = sent.ok() ? got.status : sent;
  EXPECT_EQ(status.code, StreamCode::cancelled_by_peer) << status.describe();
  EXPECT_EQ(status.peer_code, static_cast<std::uint32_t>(StreamWireCode::cap_exceeded));
  EXPECT_TRUE(run_until([&] { return !seen->ok(); }));
  EXPECT_EQ(seen->code, StreamCode::cap_exceeded);
  // Declaring more than the server takes is refused up front.
  DataStream big = open("test.read", "", {.declared_bytes = 200'000});
  EXPECT_EQ(big.status().code, StreamCode::rejected);
  EXPECT_EQ(big.status().peer_code, static_cast<std::uint32_t>(StreamWireCode::cap_exceeded));
}

TEST_F(DataStreamOutcomeTest, FailingHandlerCancelsItsStream) {
  make();
  server_->handle("test.crash", [](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    throw std::runtime_error("bug");
  });
  server_->start();
  DataStream stream = open("test.crash");
  Received got = run(testing::read_to_end(stream));
  EXPECT_EQ(got.status.code, StreamCode::cancelled_by_peer);
  EXPECT_EQ(got.status.peer_code, static_cast<std::uint32_t>(StreamWireCode::handler_failed));
  EXPECT_NE(got.status.message.find("bug"), std::string::npos);
}

TEST_F(DataStreamOutcomeTest, HandlerThatReturnsEarlyIsFinishedForIt) {
  make();
  server_->handle("test.hello", [](DataStream stream) -> asio::awaitable<void> {
    co_await stream.write(testing::bytes_of("hello"));
  });
  server_->start();
  DataStream stream = open("test.hello");
  ASSERT_TRUE(run(stream.finish()).ok());
  Received got = run(testing::read_to_end(stream));
  EXPECT_TRUE(got.ended) << got.status.describe();
  EXPECT_EQ(got.bytes, "hello");
  EXPECT_TRUE(run_until([&] { return client_->idle_connection_count(server_node) == 1; }));
}

TEST_F(DataStreamOutcomeTest, RangeReadSendsOnlyTheRange) {
  make();
  const std::string file = pattern(500'000);
  server_->handle("test.get", [file](DataStream stream) -> asio::awaitable<void> {
    const auto comma = stream.header().find(',');
    const std::size_t offset = std::stoul(stream.header().substr(0, comma));
    const std::size_t length = std::stoul(stream.header().substr(comma + 1));
    co_await stream.accept("", length);
    co_await testing::send_all(stream, file.substr(offset, length), "");
  });
  server_->start();
  DataStream stream = open("test.get", "123456,200000");
  ASSERT_TRUE(run(stream.finish()).ok());
  Received got = run(testing::read_to_end(stream));
  EXPECT_TRUE(got.ended) << got.status.describe();
  EXPECT_TRUE(got.bytes == file.substr(123456, 200000));
}

TEST_F(DataStreamOutcomeTest, StoppingServerCancelsRunningStreams) {
  make();
  auto entered = std::make_shared<Gate>(executor());
  auto ended = std::make_shared<bool>(false);
  server_->handle("test.read", [entered, ended](DataStream stream) -> asio::awaitable<void> {
    co_await stream.accept();
    entered->release();
    co_await testing::read_to_end(stream);
    *ended = true;
  });
  server_->start();
  DataStream stream = open("test.read");
  run(entered->wait());
  run(server_->stop());
  EXPECT_TRUE(*ended) << "stop() returned while a handler ran";
  Received got = run(testing::read_to_end(stream));
  EXPECT_TRUE(got.status.code == StreamCode::cancelled_by_peer || got.status.code == StreamCode::connection_reset)
      << got.status.describe();
  if (got.status.code == StreamCode::cancelled_by_peer) {
    EXPECT_EQ(got.status.peer_code, static_cast<std::uint32_t>(StreamWireCode::stopping));
  }
}

TEST_F(DataStreamOutcomeTest, PooledConnectionThePeerClosedIsReplacedTransparently) {
  server_limits_.pool_idle_ms = 100;  // the server drops idle connections after 200 ms
  network_->set_delay(20ms, 20ms);    // its close takes 20 ms to arrive
  make();
  server_->handle("test.hello", [](DataStream stream) -> asio::awaitable<void> {
    co_await stream.finish("hi");
  });
  server_->start();
  DataStream first = open("test.hello");
  ASSERT_TRUE(run(first.finish()).ok());
  EXPECT_TRUE(run(testing::read_to_end(first)).ended);
  EXPECT_EQ(client_->idle_connection_count(server_node), 1u);
  EXPECT_TRUE(run_until([&] { return server_->connection_count() == 0; }));
  // The client still has it pooled: the open goes out on it and meets the
  // close; it is retried on a new connection.
  DataStream second = open("test.hello");
  EXPECT_TRUE(second.status().ok()) << second.status().describe();
  ASSERT_TRUE(run(second.finish()).ok());
  EXPECT_TRUE(run(testing::read_to_end(second)).ended);
  EXPECT_EQ(second.trailer(), "hi");
}

// A put along a chain of replicas: each node writes what it receives and
// forwards it to the next at once; acknowledgements flow back as trailers.
class DataStreamChainTest : public testing::DataStreamTestBase {
 protected:
  static inline const core::HostPort tail_node{"10.0.2.3", 7001};
};

TEST_F(DataStreamChainTest, PutPipelinedAlongAChainOfReplicas) {
  make();
  auto tail_endpoint = network_->stream(tail_node);
  DataStreamServer tail(executor(), *tail_endpoint, server_limits_);
  DataStreamClient forwarder(executor(), *server_endpoint_, client_limits_);
  auto stored_mid = std::make_shared<std::string>();
  auto stored_tail = std::make_shared<std::string>();
  tail.handle("test.put", [stored_tail](DataStream stream) -> asio::awaitable<void> {
    Received got = co_await testing::read_to_end(stream);
    *stored_tail = got.bytes;
    co_await stream.finish("tail:" + std::to_string(got.bytes.size()));
  });
  auto* forwarder_ptr = &forwarder;
  server_->handle("test.put", [stored_mid, forwarder_ptr](DataStream upstream) -> asio::awaitable<void> {
    DataStream downstream = co_await forwarder_ptr->open(tail_node, "test.put", upstream.header());
    if (!downstream.status().ok()) {
      upstream.reject(1, downstream.status().describe());
      co_return;
    }
    co_await upstream.accept();
    std::vector<std::uint8_t> buffer(30000);
    for (;;) {
      DataRead got = co_await upstream.read(buffer);
      if (!got.status.ok()) {
        downstream.cancel(2, "upstream failed");
        co_return;
      }
      if (got.ended) break;
      stored_mid->append(reinterpret_cast<const char*>(buffer.data()), got.bytes);
      const StreamStatus forwarded = co_await downstream.write(std::span<const std::uint8_t>(buffer.data(), got.bytes));
      if (!forwarded.ok()) co_return;
    }
    co_await downstream.finish();
    Received ack = co_await testing::read_to_end(downstream);
    co_await upstream.finish("mid:" + std::to_string(stored_mid->size()) + "," + downstream.trailer());
  });
  tail.start();
  server_->start();
  DataStream stream = open("test.put", "name=f");
  ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
  const std::string data = pattern(3'000'000);
  ASSERT_TRUE(run(testing::send_all(stream, data, "")).ok());
  Received ack = run(testing::read_to_end(stream));
  EXPECT_TRUE(ack.ended) << ack.status.describe();
  EXPECT_EQ(stream.trailer(), "mid:3000000,tail:3000000");
  EXPECT_TRUE(*stored_mid == data);
  EXPECT_TRUE(*stored_tail == data);
  run(server_->stop());  // its handler uses `forwarder`
  run(forwarder.stop());
  run(tail.stop());
}

}  // namespace
}  // namespace idunno::net
