#pragma once
// RpcChannel: one RPC connection's framing, shared by the client and server
// sides (internal to src/net).
//
// Why: both ends need the same thing from a stream: whole, validated frames
// in, and frames out through a single writer (a stream allows one write at
// a time; concurrent calls and handlers queue their frames, and the writer
// coalesces what has queued into one write). The queue is bounded in bytes
// (rpc.max_queued_bytes): enqueue() waits for room, so a peer that does not
// keep up slows its callers instead of growing our memory. A queued frame
// whose caller gave up is withdrawn before it is written. Every write must
// finish within rpc.write_timeout_ms, so a peer that stops reading (a
// stopped process) loses the connection instead of holding it forever.
// The owner keeps the channel alive while read_frame() or write_loop() run.
// Touch only from the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "net/async_signal.hpp"
#include "net/frame.hpp"
#include "net/stream.hpp"

namespace idunno::net {

class RpcChannel {
 public:
  RpcChannel(boost::asio::any_io_executor executor, std::unique_ptr<Stream> stream, const core::RpcSection& limits);
  ~RpcChannel();
  RpcChannel(const RpcChannel&) = delete;
  RpcChannel& operator=(const RpcChannel&) = delete;

  // Outcome of read_frame: a frame, or the end of the connection with the
  // reason (empty reason: the peer closed cleanly between frames).
  struct ReadResult {
    std::optional<RpcFrame> frame;
    std::string reason;
    bool protocol_error = false;  // the peer broke framing (vs. I/O failure)
  };

  // The next frame or why there is none. Only one reader at a time.
  boost::asio::awaitable<ReadResult> read_frame();

  // Queues an encoded frame (encode_frame output) for the writer, first
  // waiting while the queue holds rpc.max_queued_bytes (a larger frame
  // waits for an empty queue). Returns a ticket for withdraw(), or nullopt
  // when the channel closed. Throws operation_aborted when cancelled while
  // waiting (nothing was queued then).
  boost::asio::awaitable<std::optional<std::uint64_t>> enqueue(std::string encoded);

  // Removes a frame the writer has not taken yet; true when it was removed
  // (so the peer never sees it).
  bool withdraw(std::uint64_t ticket);

  // Writes queued frames until the channel closes; returns the reason a
  // write failed or timed out (empty after close()).
  boost::asio::awaitable<std::string> write_loop();

  // Bytes queued but not yet written.
  std::size_t queued_bytes() const { return queued_bytes_; }

  // When bytes last arrived from the peer (the open time before any did).
  std::chrono::steady_clock::time_point last_received() const { return last_received_; }

  // Closes the stream; pending reads, the writer and waiting enqueues end.
  // Idempotent.
  void close();

  bool closed() const { return closed_; }
  const core::HostPort& peer() const { return peer_; }

 private:
  static constexpr std::size_t read_chunk_bytes = 64 * 1024;
  static constexpr std::size_t max_coalesced_bytes = 256 * 1024;

  struct Queued {
    std::uint64_t ticket;
    std::string bytes;
  };

  std::unique_ptr<Stream> stream_;
  core::HostPort peer_;
  FrameDecoder decoder_;
  std::size_t max_queued_bytes_;
  std::chrono::milliseconds write_timeout_;
  std::vector<std::uint8_t> read_buffer_;
  std::deque<Queued> outgoing_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t next_ticket_ = 1;
  std::chrono::steady_clock::time_point last_received_;
  AsyncSignal outgoing_ready_;
  AsyncSignal room_;
  bool closed_ = false;
};

// `event=rpc_conn_closed peer=... reason=...` at warn (or debug for a clean
// close) level.
void log_connection_closed(const core::HostPort& peer, const std::string& side, const std::string& reason,
                           bool problem);

}  // namespace idunno::net
