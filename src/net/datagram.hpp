#pragma once
// Datagram transport: the seam between the membership protocol and UDP.
//
// Why: SWIM talks to "a thing that sends and receives datagrams", so the same
// driver runs over real UDP (UdpTransport) and over the in-memory
// FakeNetwork in simulations. Every transport lives on the event loop's
// executor and is touched only from it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "core/config.hpp"

namespace idunno::net {

// One received datagram and who sent it.
struct Datagram {
  core::HostPort from;
  std::string payload;
};

// Sends and receives whole datagrams on one local address.
class DatagramTransport {
 public:
  virtual ~DatagramTransport() = default;

  // Fire-and-forget: never blocks, never throws on network errors (a lost
  // datagram is a normal outcome for the protocols above).
  virtual void send(const core::HostPort& to, std::string payload) = 0;

  // The next datagram. Throws boost::system::system_error
  // (operation_aborted) when the transport is closed or the wait cancelled.
  // One receive() at a time per transport.
  virtual boost::asio::awaitable<Datagram> receive() = 0;

  // The bound address (with the real port when bound to port 0).
  virtual core::HostPort local_address() const = 0;

  // Stops receiving; pending and later receive() calls throw. Idempotent.
  virtual void close() = 0;
};

// Real UDP on one bound socket. Datagrams larger than max_datagram_bytes are
// dropped on receive.
class UdpTransport : public DatagramTransport {
 public:
  static constexpr std::size_t max_datagram_bytes = 65507;

  // Binds `address` (port 0: an ephemeral port). Throws NetError naming the
  // address when it cannot be bound (e.g. the port is taken).
  static std::unique_ptr<UdpTransport> bind(boost::asio::any_io_executor executor,
                                            const core::HostPort& address);

 protected:
  UdpTransport() = default;
};

}  // namespace idunno::net
