// The data-stream server under hostile input from raw sockets on
// 127.0.0.1: every kind of bad frame closes that connection with a logged
// reason, and the server keeps serving everyone else.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/data_stream.pb.h"
#include "net/data_stream_frame.hpp"
#include "net/data_stream_test_support.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

std::string open_frame(std::uint32_t id, std::uint64_t window) {
  StreamOpen open;
  open.set_method("test.hold");
  open.set_window(window);
  return encode_stream_frame(StreamFrameType::open, id, open.SerializeAsString());
}

std::string raw_header(std::uint8_t type, std::uint32_t id, std::uint32_t length) {
  std::string out;
  append_stream_frame_header(out, static_cast<StreamFrameType>(type), id, length);
  return out;
}

// Sends `bytes` and reads until the server closes the connection.
asio::awaitable<void> send_until_closed(core::HostPort server, std::string bytes) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(server.host), server.port), asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

class DataStreamRobustnessTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    spdlog::default_logger()->sinks().push_back(log_);
    network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    server_ = std::make_unique<DataStreamServer>(executor(), *network_, testing::small_stream_limits());
    client_ = std::make_unique<DataStreamClient>(executor(), *network_, testing::small_stream_limits());
    server_->handle("test.hold", [](DataStream stream) -> asio::awaitable<void> {
      co_await stream.accept();
      co_await testing::pause(2s);  // reads nothing for a while
      co_await testing::read_to_end(stream);
    });
    server_->handle("test.echo", [](DataStream stream) -> asio::awaitable<void> {
      testing::Received got = co_await testing::read_to_end(stream);
      co_await testing::send_all(stream, got.bytes, "");
    });
    server_->start();
  }

  void TearDown() override {
    run(client_->stop());
    run(server_->stop());
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
  }

  std::string violation_line() const {
    for (const auto& line : log_->last_formatted()) {
      if (line.find("event=stream_conn_closed side=server") != std::string::npos &&
          line.find("protocol violation") != std::string::npos) {
        return line;
      }
    }
    return {};
  }

  void expect_closed_because(const std::string& bytes, const std::string& reason) {
    run(send_until_closed(network_->local_address(), bytes), 5s);
    EXPECT_NE(violation_line().find(reason), std::string::npos) << "log: " << violation_line();
    // Someone well-behaved is still served.
    DataStream stream = run(client_->open(network_->local_address(), "test.echo", ""));
    ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
    ASSERT_TRUE(run(testing::send_all(stream, "still served", "")).ok());
    testing::Received got = run(testing::read_to_end(stream));
    EXPECT_EQ(got.bytes, "still served");
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::unique_ptr<TcpNetwork> network_;
  std::unique_ptr<DataStreamServer> server_;
  std::unique_ptr<DataStreamClient> client_;
};

TEST_F(DataStreamRobustnessTest, UnknownFrameType) { expect_closed_because(raw_header(42, 1, 0), "unknown frame type 42"); }

TEST_F(DataStreamRobustnessTest, OversizedDataFrame) {
  expect_closed_because(raw_header(3, 1, max_stream_data_frame + 1), "data frame of");
}

TEST_F(DataStreamRobustnessTest, DataWithoutAnOpenStream) {
  expect_closed_because(encode_stream_frame(StreamFrameType::data, 1, "x"), "data for unknown stream 1");
}

TEST_F(DataStreamRobustnessTest, MalformedOpen) {
  expect_closed_because(encode_stream_frame(StreamFrameType::open, 1, "\xff\xff\xff"), "malformed open frame");
}

TEST_F(DataStreamRobustnessTest, OpenWithoutAWindow) {
  expect_closed_because(open_frame(1, 0), "receive window of 0 bytes");
}

TEST_F(DataStreamRobustnessTest, DataBeyondTheGrantedCredit) {
  const std::string chunk(32 * 1024, 'c');
  std::string flood = open_frame(1, 1024);
  // The server's window is 64 KiB: the third 32 KiB frame exceeds it.
  for (int i = 0; i < 3; ++i) flood += encode_stream_frame(StreamFrameType::data, 1, chunk);
  // (Sent before the accept arrives: the data-before-accept check or the
  // credit check closes it, both protocol violations.)
  run(send_until_closed(network_->local_address(), flood), 5s);
  const std::string line = violation_line();
  EXPECT_TRUE(line.find("data beyond credit") != std::string::npos ||
              line.find("data before the stream was accepted") != std::string::npos)
      << "log: " << line;
}

TEST_F(DataStreamRobustnessTest, ClientRejectsAServerThatSendsGarbage) {
  auto rogue = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
  auto answer = [&]() -> asio::awaitable<void> {
    auto stream = co_await rogue->accept();
    std::vector<std::uint8_t> buffer(1024);
    co_await stream->read_some(buffer);
    const std::string garbage = raw_header(99, 1, 0);
    co_await stream->write_all({reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size()});
    co_await stream->read_some(buffer);
  };
  auto open = [&]() -> asio::awaitable<DataStream> {
    co_return co_await client_->open(rogue->local_address(), "test.echo", "");
  };
  DataStream stream = run([&]() -> asio::awaitable<DataStream> {
    using namespace asio::experimental::awaitable_operators;
    co_return co_await (answer() && open());
  });
  EXPECT_EQ(stream.status().code, StreamCode::protocol_violation) << stream.status().describe();
}

}  // namespace
}  // namespace idunno::net
