#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <vector>

#include "net/address.hpp"
#include "net/datagram.hpp"
#include "net/net_error.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// The real UdpTransport: one non-blocking socket, so send() can never block
// the event loop (a full socket buffer drops the datagram, as the network
// might have). The socket lives in a shared core held by a pending
// receive(), so destroying the transport mid-receive is safe.
class AsioUdpTransport final : public UdpTransport {
 public:
  AsioUdpTransport(udp::socket socket, core::HostPort local)
      : core_(std::make_shared<Core>(std::move(socket))), local_(std::move(local)) {}

  ~AsioUdpTransport() override { close(); }

  void send(const core::HostPort& to, std::string payload) override {
    if (core_->closed) return;
    auto address = parse_ip(to.host);
    if (!address) {
      spdlog::debug("event=udp_send_dropped to={} reason=\"not an IP address\"", to.to_string());
      return;
    }
    boost::system::error_code ec;
    core_->socket.send_to(asio::buffer(payload), udp::endpoint(*address, to.port), 0, ec);
    if (ec) spdlog::debug("event=udp_send_dropped to={} reason=\"{}\"", to.to_string(), ec.message());
  }

  asio::awaitable<Datagram> receive() override { return receive_on(core_); }

  core::HostPort local_address() const override { return local_; }

  void close() override {
    if (core_->closed) return;
    core_->closed = true;
    boost::system::error_code ec;
    core_->socket.close(ec);
  }

 private:
  struct Core {
    explicit Core(udp::socket s) : socket(std::move(s)), buffer(max_datagram_bytes) {}
    udp::socket socket;
    std::vector<std::uint8_t> buffer;
    bool closed = false;
  };

  static asio::awaitable<Datagram> receive_on(std::shared_ptr<Core> core) {
    for (;;) {
      if (core->closed) throw boost::system::system_error(asio::error::operation_aborted);
      udp::endpoint sender;
      auto [ec, size] = co_await core->socket.async_receive_from(asio::buffer(core->buffer), sender,
                                                                 asio::as_tuple(asio::use_awaitable));
      if (core->closed) throw boost::system::system_error(asio::error::operation_aborted);
      if (ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
          ec == asio::error::message_size) {
        continue;  // ICMP noise or an oversized datagram: not ours to act on
      }
      if (ec) throw boost::system::system_error(ec);
      co_return Datagram{to_host_port(sender),
                         std::string(reinterpret_cast<const char*>(core->buffer.data()), size)};
    }
  }

  std::shared_ptr<Core> core_;
  core::HostPort local_;
};

}  // namespace

std::unique_ptr<UdpTransport> UdpTransport::bind(asio::any_io_executor executor, const core::HostPort& address) {
  auto ip = parse_ip(address.host);
  if (!ip) throw NetError("cannot bind UDP " + address.to_string() + ": host is not an IP address");
  udp::endpoint endpoint(*ip, address.port);
  udp::socket socket(executor);
  boost::system::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (!ec) socket.bind(endpoint, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) throw NetError("cannot bind UDP " + address.to_string() + ": " + ec.message());
  core::HostPort local = to_host_port(socket.local_endpoint());
  return std::make_unique<AsioUdpTransport>(std::move(socket), std::move(local));
}

}  // namespace idunno::net
