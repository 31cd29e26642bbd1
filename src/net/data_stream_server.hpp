#pragma once
// DataStreamServer: serves node-to-node data streams on a StreamNetwork
// (the data-stream connections of the node's port, see ConnectionDemux).
//
// Why: services that move file bytes (SDFS writes along a replica chain,
// range reads, shard reads) register a handler per method; the server
// accepts connections, and for each stream opened on them runs the
// method's handler as its own coroutine with the stream offered. The
// handler checks the header and term, accepts or rejects, then reads and
// writes; when it returns, what it left open is finished for it (an
// unanswered stream is rejected, an unfinished direction is ended, a
// request it did not read is cancelled). An unknown method is rejected
// (unknown_method), beyond stream.max_streams at once too (busy); a
// handler that throws cancels its stream (handler_failed). Every coroutine
// belongs to its task group; stop() cancels running streams (the peer
// hears "stopping") and waits, bounded, for the handlers. Lives on the
// event loop; touch only from there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/data_stream.hpp"
#include "net/stream.hpp"

namespace idunno::net {

// A stream handler gets the offered stream (method, header, term, peer).
using DataStreamHandler = std::function<boost::asio::awaitable<void>(DataStream stream)>;

class DataStreamServer {
 public:
  // `network` must outlive the server.
  DataStreamServer(boost::asio::any_io_executor executor, StreamNetwork& network, core::StreamSection limits);
  ~DataStreamServer();
  DataStreamServer(const DataStreamServer&) = delete;
  DataStreamServer& operator=(const DataStreamServer&) = delete;

  // Registers `method`; replaces an earlier handler of the same name.
  // Register before start().
  void handle(std::string method, DataStreamHandler handler);

  // Starts the accept loop. Call once.
  void start();

  // Stops accepting, cancels running streams, closes every connection and
  // waits (bounded) for the handlers to end.
  boost::asio::awaitable<void> stop();

  // Open connections and running handlers right now (tests, metrics).
  std::size_t connection_count() const;
  std::size_t active_streams() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace idunno::net
