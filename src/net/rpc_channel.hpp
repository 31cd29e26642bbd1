#pragma once
// RpcChannel: one RPC connection's framing, shared by the client and server
// sides (internal to src/net).
//
// Why: both ends need the same thing from a stream: whole, validated frames
// in, and frames out through a single writer (a stream allows one write at
// a time; concurrent calls and handlers queue their frames, and the writer
// coalesces what has queued into one write). The owner keeps the channel
// alive while read_frame() or write_loop() run. Touch only from the event
// loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/async_signal.hpp"
#include "net/frame.hpp"
#include "net/stream.hpp"

namespace idunno::net {

class RpcChannel {
 public:
  RpcChannel(boost::asio::any_io_executor executor, std::unique_ptr<Stream> stream, std::uint32_t max_frame_bytes);
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

  // Queues an encoded frame (encode_frame output) for the writer.
  void send(std::string encoded);

  // Writes queued frames until the channel closes; returns the reason a
  // write failed (empty after close()).
  boost::asio::awaitable<std::string> write_loop();

  // Bytes queued but not yet written.
  std::size_t queued_bytes() const { return queued_bytes_; }

  // Waits until at most `limit` bytes are queued (or the channel closed):
  // back-pressure for a peer that sends requests but does not read replies.
  boost::asio::awaitable<void> wait_queued_at_most(std::size_t limit);

  // Closes the stream; pending reads and the writer end. Idempotent.
  void close();

  bool closed() const { return closed_; }
  const core::HostPort& peer() const { return peer_; }

 private:
  static constexpr std::size_t read_chunk_bytes = 64 * 1024;
  static constexpr std::size_t max_coalesced_bytes = 256 * 1024;

  std::unique_ptr<Stream> stream_;
  core::HostPort peer_;
  FrameDecoder decoder_;
  std::vector<std::uint8_t> read_buffer_;
  std::deque<std::string> outgoing_;
  std::size_t queued_bytes_ = 0;
  AsyncSignal outgoing_ready_;
  AsyncSignal written_;
  bool closed_ = false;
};

// `event=rpc_conn_closed peer=... reason=...` at warn (or debug for a clean
// close) level.
void log_connection_closed(const core::HostPort& peer, const std::string& side, const std::string& reason,
                           bool problem);

}  // namespace idunno::net
