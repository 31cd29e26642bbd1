// Tests of the real UDP and TCP transports on 127.0.0.1 with ephemeral
// ports.
#include <boost/asio/this_coro.hpp>

#include <string>
#include <vector>

#include "core/task_group.hpp"
#include "net/datagram.hpp"
#include "net/net_error.hpp"
#include "net/stream.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using testing::CoroutineTest;

const core::HostPort any_loopback{"127.0.0.1", 0};

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Reads until `size` bytes arrived or the stream ended.
asio::awaitable<std::string> read_exactly(Stream& stream, std::size_t size) {
  std::string out;
  std::vector<std::uint8_t> buffer(4096);
  while (out.size() < size) {
    std::size_t n = co_await stream.read_some(buffer);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  co_return out;
}

// Spawned helpers: they take pointers that the test keeps alive until its
// task group joins.
asio::awaitable<void> receive_until_aborted(DatagramTransport* transport, bool* aborted) {
  try {
    co_await transport->receive();
  } catch (const boost::system::system_error&) {
    *aborted = true;
  }
}

asio::awaitable<void> accept_until_aborted(StreamNetwork* network, bool* aborted) {
  try {
    co_await network->accept();
  } catch (const boost::system::system_error&) {
    *aborted = true;
  }
}

class TransportTest : public CoroutineTest {};

TEST_F(TransportTest, UdpDeliversDatagramWithSender) {
  auto a = UdpTransport::bind(executor(), any_loopback);
  auto b = UdpTransport::bind(executor(), any_loopback);
  ASSERT_NE(a->local_address().port, 0);
  a->send(b->local_address(), "ping");
  Datagram got = run(b->receive());
  EXPECT_EQ(got.payload, "ping");
  EXPECT_EQ(got.from, a->local_address());
}

TEST_F(TransportTest, UdpBindOnTakenPortFailsWithClearMessage) {
  auto a = UdpTransport::bind(executor(), any_loopback);
  try {
    UdpTransport::bind(executor(), a->local_address());
    FAIL() << "second bind succeeded";
  } catch (const NetError& e) {
    EXPECT_NE(std::string(e.what()).find(a->local_address().to_string()), std::string::npos) << e.what();
  }
}

TEST_F(TransportTest, UdpSendToNowhereDoesNotThrow) {
  auto a = UdpTransport::bind(executor(), any_loopback);
  EXPECT_NO_THROW(a->send({"not-an-ip", 9}, "x"));
  EXPECT_NO_THROW(a->send({"127.0.0.1", 9}, "x"));
}

TEST_F(TransportTest, UdpCloseEndsAPendingReceive) {
  auto a = UdpTransport::bind(executor(), any_loopback);
  core::TaskGroup tasks(executor());
  bool aborted = false;
  tasks.spawn(receive_until_aborted(a.get(), &aborted));
  testing::run_ready(io_);
  a->close();
  run(tasks.join());
  EXPECT_TRUE(aborted);
}

TEST_F(TransportTest, TcpConnectAcceptAndExchangeBothWays) {
  auto server = TcpNetwork::listen(executor(), any_loopback);
  auto client = TcpNetwork::connect_only(executor());
  auto outgoing = run(client->connect(server->local_address()));
  auto incoming = run(server->accept());
  EXPECT_EQ(outgoing->peer(), server->local_address());
  EXPECT_EQ(incoming->peer().host, "127.0.0.1");

  const std::string big(200'000, 'z');
  run(outgoing->write_all(bytes_of(big)));
  EXPECT_EQ(run(read_exactly(*incoming, big.size())), big);
  run(incoming->write_all(bytes_of("pong")));
  EXPECT_EQ(run(read_exactly(*outgoing, 4)), "pong");

  outgoing->close();
  EXPECT_EQ(run(read_exactly(*incoming, 1)), "");  // end of stream
}

TEST_F(TransportTest, TcpListenOnTakenPortFails) {
  auto server = TcpNetwork::listen(executor(), any_loopback);
  EXPECT_THROW(TcpNetwork::listen(executor(), server->local_address()), NetError);
}

TEST_F(TransportTest, TcpConnectToClosedPortIsRefused) {
  core::HostPort dead;
  {
    auto probe = TcpNetwork::listen(executor(), any_loopback);
    dead = probe->local_address();
  }
  auto client = TcpNetwork::connect_only(executor());
  EXPECT_THROW(run(client->connect(dead)), boost::system::system_error);
}

TEST_F(TransportTest, TcpCloseEndsAPendingAccept) {
  auto server = TcpNetwork::listen(executor(), any_loopback);
  core::TaskGroup tasks(executor());
  bool aborted = false;
  tasks.spawn(accept_until_aborted(server.get(), &aborted));
  testing::run_ready(io_);
  server->close();
  run(tasks.join());
  EXPECT_TRUE(aborted);
}

TEST_F(TransportTest, ConnectOnlyNetworkDoesNotAccept) {
  auto client = TcpNetwork::connect_only(executor());
  EXPECT_THROW(run(client->accept()), boost::system::system_error);
}

}  // namespace
}  // namespace idunno::net
