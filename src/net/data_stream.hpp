#pragma once
// DataStream: one node-to-node byte stream (a file transfer), as its two
// ends see it: read / write / finish / cancel, with flow control.
//
// Why: SDFS moves hundreds of MB between nodes (a put pipelined along a
// chain of replicas, range reads, a worker reading its shard), which must
// neither delay heartbeats (streams have connections of their own beside
// RPC) nor depend on the transfer size for memory. Each direction has its
// own credit: the receiver grants credit as its consumer reads, a sender
// without credit waits, so a slow receiver slows the sender and at most
// stream.window_bytes wait in the receiver. A direction ends with an
// optional trailer (a checksum, a result); either end may cancel with a
// code and a reason; a write that makes no progress, a silent peer, the
// deadline and the byte caps each fail the stream with their own status.
// Every outcome is a StreamStatus value.
//
// A DataStream is a cheap handle (copies share the stream); it may outlive
// the connection (operations then report how the stream ended). When the
// last handle of a stream that has not ended goes, the stream is cancelled
// (the peer hears "cancelled": nobody will read or write it any more).
// Pass it by value into coroutines. One read and one write/finish at a time
// per stream. Touch only from the event loop.
//
// A typical put: `auto s = co_await client.open(peer, "sdfs.write", header,
// {.term = t, .deadline = 60s, .declared_bytes = size});` then write()
// chunks, finish(checksum), and read() until it returns ended: the
// server's trailer() is its ack. The server's handler gets the stream
// offered: it checks header()/term(), then accept() (or reject()), reads
// until ended, and finish(ack).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/config.hpp"
#include "net/data_stream_status.hpp"

namespace idunno::net {

struct StreamSession;

// What one read() got: `bytes` > 0, or the end of the peer's direction
// (ended, status ok, the peer's trailer in DataStream::trailer()), or a
// failure (status).
struct DataRead {
  std::size_t bytes = 0;
  bool ended = false;
  StreamStatus status;
};

// How to open a stream.
struct StreamOpenOptions {
  std::uint64_t term = 0;                   // the opener's term (Raft fencing)
  std::chrono::milliseconds deadline{0};    // for the whole stream; 0: none
  std::uint64_t declared_bytes = 0;         // bytes the opener will send; 0: not declared
};

class DataStream {
 public:
  DataStream() = default;
  // The first handle of a session; further ones are copies of it.
  explicit DataStream(std::shared_ptr<StreamSession> session);

  // Reads up to buffer.size() bytes (at least one unless ended or failed).
  boost::asio::awaitable<DataRead> read(std::span<std::uint8_t> buffer);

  // Writes every byte, waiting for credit as needed. ok once handed to the
  // connection; a failure status otherwise (timed_out_write when the peer
  // grants no credit or the socket takes nothing for stream.write_timeout_ms,
  // cap_exceeded beyond the declared size or stream.max_bytes).
  boost::asio::awaitable<StreamStatus> write(std::span<const std::uint8_t> bytes);

  // Ends this direction with `trailer` (at most 64 KiB). The stream ends
  // cleanly once both directions ended.
  boost::asio::awaitable<StreamStatus> finish(std::string trailer = {});

  // Gives up on the stream: the peer sees cancelled_by_peer with `code`
  // (a StreamWireCode or an application code >= app_code_base) and
  // `reason`; this side's operations return cancelled_locally. No effect
  // on a stream that already ended.
  void cancel(std::uint32_t code, std::string reason);

  // Server side: answers the open. Reading or writing first accepts with
  // an empty header. `declared_bytes`: what the server will send (0: not
  // declared).
  boost::asio::awaitable<StreamStatus> accept(std::string reply_header = {}, std::uint64_t declared_bytes = 0);
  void reject(std::uint32_t code, std::string reason);

  // How the stream stands: ok while it runs and after a clean end.
  StreamStatus status() const;
  // Both directions ended cleanly.
  bool ended() const;
  bool valid() const { return session_ != nullptr; }

  const std::string& method() const;
  core::HostPort peer() const;
  // Server side: the opener's header and term; client side: the server's
  // reply header.
  const std::string& header() const;
  const std::string& reply_header() const;
  std::uint64_t term() const;
  // The peer's trailer, once read() returned ended.
  const std::string& trailer() const;
  // Data bytes received and sent so far.
  std::uint64_t bytes_received() const;
  std::uint64_t bytes_sent() const;

 private:
  std::shared_ptr<StreamSession> session_;
  std::shared_ptr<void> last_handle_;  // cancels an unfinished stream when the last copy goes
};

}  // namespace idunno::net
