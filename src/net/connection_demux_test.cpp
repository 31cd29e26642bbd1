// One TCP port, two kinds of connection: RPC and data streams reach their
// own servers over real sockets on 127.0.0.1, on separate connections, and
// a connection that does not announce itself properly is closed with a
// logged reason while everyone else keeps being served.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/cluster_transport.hpp"
#include "net/data_stream_test_support.hpp"
#include "net/rpc_test_support.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

core::RpcSection demux_rpc_limits() {
  core::RpcSection rpc = testing::test_limits();
  rpc.preface_timeout_ms = 300;
  return rpc;
}

// Connects a raw socket, sends `bytes`, and reads until the server closes;
// returns how long that took.
asio::awaitable<std::chrono::steady_clock::duration> raw_until_closed(core::HostPort server, std::string bytes) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(server.host), server.port), asio::use_awaitable);
  const auto start = std::chrono::steady_clock::now();
  if (!bytes.empty()) co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable);
  std::vector<char> buffer(1024);
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
  co_return std::chrono::steady_clock::now() - start;
}

class ConnectionDemuxTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    spdlog::default_logger()->sinks().push_back(log_);
    server_network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    client_network_ = TcpNetwork::listen(executor(), {"127.0.0.1", 0});
    server_ = std::make_unique<ClusterTransport>(executor(), *server_network_, demux_rpc_limits(),
                                                 testing::small_stream_limits());
    client_ = std::make_unique<ClusterTransport>(executor(), *client_network_, demux_rpc_limits(),
                                                 testing::small_stream_limits());
    server_->rpc_server().handle("echo", testing::echo);
    server_->stream_server().handle("test.echo", [](DataStream stream) -> asio::awaitable<void> {
      testing::Received got = co_await testing::read_to_end(stream);
      co_await testing::send_all(stream, got.bytes, "echoed");
    });
    server_->start();
    client_->start();
  }

  void TearDown() override {
    run(client_->stop());
    run(server_->stop());
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
  }

  std::string log_line(const std::string& needle) const {
    for (const auto& line : log_->last_formatted()) {
      if (line.find(needle) != std::string::npos) return line;
    }
    return {};
  }

  void expect_both_kinds_served() {
    EXPECT_EQ(run(client_->rpc_client().call(address(), "echo", "rpc ok", 1s)), "rpc ok");
    DataStream stream = run(client_->stream_client().open(address(), "test.echo", ""));
    ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
    ASSERT_TRUE(run(testing::send_all(stream, testing::pattern(300'000), "")).ok());
    testing::Received got = run(testing::read_to_end(stream));
    EXPECT_TRUE(got.ended) << got.status.describe();
    EXPECT_TRUE(got.bytes == testing::pattern(300'000));
    EXPECT_EQ(stream.trailer(), "echoed");
  }

  core::HostPort address() const { return server_->local_address(); }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::unique_ptr<TcpNetwork> server_network_;
  std::unique_ptr<TcpNetwork> client_network_;
  std::unique_ptr<ClusterTransport> server_;
  std::unique_ptr<ClusterTransport> client_;
};

TEST_F(ConnectionDemuxTest, RpcAndStreamsShareThePortButNotAConnection) {
  expect_both_kinds_served();
  EXPECT_EQ(server_->rpc_server().connection_count(), 1u);
  EXPECT_EQ(server_->stream_server().connection_count(), 1u);
}

TEST_F(ConnectionDemuxTest, BadPrefaceIsClosedWithAReason) {
  run(raw_until_closed(address(), "GET / HTTP/1.1\r\n\r\n"));
  EXPECT_NE(log_line("bad preface").find("event=conn_rejected"), std::string::npos) << log_line("conn_rejected");
  expect_both_kinds_served();
}

TEST_F(ConnectionDemuxTest, SilentConnectionIsClosedAfterThePrefaceTimeout) {
  const auto held = run(raw_until_closed(address(), "ID"));  // two bytes, then nothing
  EXPECT_GE(held, 250ms);
  EXPECT_LT(held, 2s);
  EXPECT_NE(log_line("no preface within 300 ms").find("event=conn_rejected"), std::string::npos)
      << log_line("conn_rejected");
  expect_both_kinds_served();
}

TEST_F(ConnectionDemuxTest, PrefaceArrivingInPiecesIsAccepted) {
  auto call = [&]() -> asio::awaitable<std::string> {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(address().host), address().port),
                                  asio::use_awaitable);
    const auto preface = connection_preface(ConnectionKind::rpc);
    co_await asio::async_write(socket, asio::buffer(preface.data(), 2), asio::use_awaitable);
    co_await testing::pause(20ms);
    RpcFrame request;
    request.set_id(1);
    request.set_method("echo");
    request.set_payload("pieces");
    const std::string rest = std::string(reinterpret_cast<const char*>(preface.data()) + 2, 2) +
                             encode_frame(request, 1024);
    co_await asio::async_write(socket, asio::buffer(rest), asio::use_awaitable);
    std::vector<std::uint8_t> buffer(1024);
    FrameDecoder decoder(1024);
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
      decoder.feed({buffer.data(), n});
      DecodeResult decoded = decoder.next();
      if (decoded.kind == DecodeResult::Kind::frame) co_return decoded.frame.payload();
    }
  };
  EXPECT_EQ(run(call), "pieces");
}

}  // namespace
}  // namespace idunno::net
