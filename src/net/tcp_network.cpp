#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "net/address.hpp"
#include "net/net_error.hpp"
#include "net/stream.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// One real TCP connection. The socket lives in a shared core held by
// pending operations, so destroying the stream mid-operation is safe.
class TcpStream final : public Stream {
 public:
  TcpStream(tcp::socket socket, core::HostPort peer)
      : core_(std::make_shared<Core>(std::move(socket))), peer_(std::move(peer)) {}

  ~TcpStream() override { close(); }

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer) override {
    return read_on(core_, buffer);
  }

  asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes) override { return write_on(core_, bytes); }

  core::HostPort peer() const override { return peer_; }

  void close() override {
    if (core_->closed) return;
    core_->closed = true;
    boost::system::error_code ec;
    core_->socket.shutdown(tcp::socket::shutdown_both, ec);
    core_->socket.close(ec);
  }

 private:
  struct Core {
    explicit Core(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    bool closed = false;
  };

  static asio::awaitable<std::size_t> read_on(std::shared_ptr<Core> core, std::span<std::uint8_t> buffer) {
    if (core->closed) throw boost::system::system_error(asio::error::operation_aborted);
    auto [ec, size] = co_await core->socket.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                            asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw boost::system::system_error(ec);
    co_return size;
  }

  static asio::awaitable<void> write_on(std::shared_ptr<Core> core, std::span<const std::uint8_t> bytes) {
    if (core->closed) throw boost::system::system_error(asio::error::operation_aborted);
    co_await asio::async_write(core->socket, asio::buffer(bytes.data(), bytes.size()), asio::use_awaitable);
  }

  std::shared_ptr<Core> core_;
  core::HostPort peer_;
};

using user_timeout_option = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_USER_TIMEOUT>;

std::unique_ptr<Stream> make_stream(tcp::socket socket, const TcpOptions& options) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (options.user_timeout.count() > 0) {
    socket.set_option(user_timeout_option(static_cast<int>(options.user_timeout.count())), ec);
  }
  auto remote = socket.remote_endpoint(ec);
  core::HostPort peer = ec ? core::HostPort{} : to_host_port(remote);
  return std::make_unique<TcpStream>(std::move(socket), std::move(peer));
}

// The real TcpNetwork: an optional acceptor plus outgoing connects.
class AsioTcpNetwork final : public TcpNetwork {
 public:
  AsioTcpNetwork(asio::any_io_executor executor, TcpOptions options)
      : executor_(std::move(executor)), options_(options) {}

  ~AsioTcpNetwork() override { close(); }

  void set_acceptor(tcp::acceptor acceptor) {
    acceptor_ = std::make_shared<tcp::acceptor>(std::move(acceptor));
    local_ = to_host_port(acceptor_->local_endpoint());
  }

  asio::awaitable<std::unique_ptr<Stream>> connect(const core::HostPort& to) override {
    return connect_on(executor_, to, options_);
  }

  asio::awaitable<std::unique_ptr<Stream>> accept() override { return accept_on(acceptor_, options_); }

  core::HostPort local_address() const override { return local_; }

  void close() override {
    if (!acceptor_) return;
    boost::system::error_code ec;
    acceptor_->close(ec);
  }

 private:
  static asio::awaitable<std::unique_ptr<Stream>> connect_on(asio::any_io_executor executor, core::HostPort to,
                                                             TcpOptions options) {
    tcp::socket socket(executor);
    if (auto ip = parse_ip(to.host)) {
      co_await socket.async_connect(tcp::endpoint(*ip, to.port), asio::use_awaitable);
    } else {
      tcp::resolver resolver(executor);
      auto endpoints = co_await resolver.async_resolve(to.host, std::to_string(to.port), asio::use_awaitable);
      co_await asio::async_connect(socket, endpoints, asio::use_awaitable);
    }
    co_return make_stream(std::move(socket), options);
  }

  static asio::awaitable<std::unique_ptr<Stream>> accept_on(std::shared_ptr<tcp::acceptor> acceptor,
                                                            TcpOptions options) {
    if (!acceptor || !acceptor->is_open()) throw boost::system::system_error(asio::error::operation_aborted);
    tcp::socket socket = co_await acceptor->async_accept(asio::use_awaitable);
    co_return make_stream(std::move(socket), options);
  }

  asio::any_io_executor executor_;
  TcpOptions options_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  core::HostPort local_;
};

}  // namespace

std::unique_ptr<TcpNetwork> TcpNetwork::connect_only(asio::any_io_executor executor, TcpOptions options) {
  return std::make_unique<AsioTcpNetwork>(std::move(executor), options);
}

std::unique_ptr<TcpNetwork> TcpNetwork::listen(asio::any_io_executor executor, const core::HostPort& address,
                                               TcpOptions options) {
  auto ip = parse_ip(address.host);
  if (!ip) throw NetError("cannot listen on TCP " + address.to_string() + ": host is not an IP address");
  tcp::endpoint endpoint(*ip, address.port);
  tcp::acceptor acceptor(executor);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  // Lets a restarted node rebind while old connections sit in TIME_WAIT; a
  // live listener on the port still makes bind fail.
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw NetError("cannot listen on TCP " + address.to_string() + ": " + ec.message());
  auto network = std::make_unique<AsioTcpNetwork>(std::move(executor), options);
  network->set_acceptor(std::move(acceptor));
  return network;
}

}  // namespace idunno::net
