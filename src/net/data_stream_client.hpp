#pragma once
// DataStreamClient: opens node-to-node data streams.
//
// Why: a service that sends or fetches file bytes opens a stream to the
// peer's method with its own header, term and deadline and gets a
// DataStream whose status says at once whether it may go on (accepted) or
// why not (rejected with the server's code, unreachable, timed out,
// stopped). Stream connections are pooled per peer (up to
// max_idle_per_peer, closed after stream.pool_idle_ms unused) and reused
// after a clean end; a stream that fails closes its connection. A pooled
// connection the peer closed just before it was reused costs one retry on
// a new connection, never a failed open. Every coroutine belongs to its
// task group. Lives on the event loop; touch only from there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/data_stream.hpp"
#include "net/stream.hpp"

namespace idunno::net {

class DataStreamClient {
 public:
  static constexpr std::size_t max_idle_per_peer = 4;

  // `network` must outlive the client.
  DataStreamClient(boost::asio::any_io_executor executor, StreamNetwork& network, core::StreamSection limits);
  ~DataStreamClient();
  DataStreamClient(const DataStreamClient&) = delete;
  DataStreamClient& operator=(const DataStreamClient&) = delete;

  // Opens a stream to `method` on `to` and waits for the answer. The
  // stream's status() is ok when accepted, otherwise why not. `header` is
  // the service's metadata (at most 60 KiB with the method name).
  boost::asio::awaitable<DataStream> open(const core::HostPort& to, std::string method, std::string header,
                                          StreamOpenOptions options = {});

  // Fails every running stream with `stopped`, closes every connection
  // and waits (bounded) for their coroutines.
  boost::asio::awaitable<void> stop();

  // Open connections (running and pooled) and pooled ones to `to`.
  std::size_t connection_count() const;
  std::size_t idle_connection_count(const core::HostPort& to) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace idunno::net
