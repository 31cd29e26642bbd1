#pragma once
// StreamConnection: one data-stream connection and the stream it carries
// now (internal to src/net). Used by both the server and the client.
//
// Why one stream per connection (pooled and reused after a clean end)
// rather than several multiplexed on one: a stalled consumer of one
// transfer can never hold up another (no head-of-line blocking between
// streams, which multiplexing would have to solve with credit per stream
// on top of TCP's), a failed or cancelled stream closes only its own
// connection, and the per-stream state stays small. The cost, one TCP
// handshake per concurrent stream, is paid once per pooled connection; a
// node runs few concurrent transfers per peer. Each frame carries the
// stream's id, so a late credit frame of the previous stream on a reused
// connection is recognised and ignored.
//
// Two coroutines per connection for its whole life: the reader decodes
// frames and updates the session (it runs while the connection sits in a
// pool too, so a peer's close is noticed at once); the writer writes queued
// frames one at a time, each within stream.write_timeout_ms, credit and
// keep-alives ahead of data. A protocol violation closes the connection
// with a logged reason (`event=stream_conn_closed`). Owned by its run()
// coroutine (keep_alive) and by a client pool while idle. Touch only from
// the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/config.hpp"
#include "net/async_signal.hpp"
#include "net/data_stream.hpp"
#include "net/data_stream.pb.h"
#include "net/data_stream_frame.hpp"
#include "net/data_stream_session.hpp"
#include "net/stream.hpp"

namespace idunno::net {

class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  struct Hooks {
    // Server: an OPEN arrived; the session is offered.
    std::function<void(std::shared_ptr<StreamSession>)> on_open;
    // A stream ended (cleanly or not) and left the connection.
    std::function<void(StreamConnection&, const StreamSession&)> on_stream_end;
    // Client: the connection is clean and free for the next stream.
    std::function<void(std::shared_ptr<StreamConnection>)> on_idle;
    // The connection closed.
    std::function<void(StreamConnection&)> on_closed;
  };

  StreamConnection(boost::asio::any_io_executor executor, std::unique_ptr<Stream> stream,
                   const core::StreamSection& limits, bool server_side, Hooks hooks);
  ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Reads and writes until the connection closes.
  boost::asio::awaitable<void> run();

  // Client: starts a stream on this free connection and waits for the
  // answer; the session's status tells how it went.
  boost::asio::awaitable<void> open(std::shared_ptr<StreamSession> session, StreamOpen open);

  // The operations behind DataStream (reading needs no connection: see
  // DataStream::read).
  boost::asio::awaitable<StreamStatus> write(std::shared_ptr<StreamSession> session,
                                             std::span<const std::uint8_t> bytes);
  boost::asio::awaitable<StreamStatus> finish(std::shared_ptr<StreamSession> session, std::string trailer);
  boost::asio::awaitable<StreamStatus> accept(std::shared_ptr<StreamSession> session, std::string reply_header,
                                              std::uint64_t declared_bytes);
  void reject(const std::shared_ptr<StreamSession>& session, std::uint32_t code, std::string reason);
  void cancel(const std::shared_ptr<StreamSession>& session, std::uint32_t code, std::string reason);
  // Server: the handler returned; finish what it left open.
  boost::asio::awaitable<void> handler_returned(std::shared_ptr<StreamSession> session);

  // Fails the stream (if any) with `status` and closes at once.
  void close(StreamStatus status);
  // Stopping: a running stream is cancelled (the peer hears why), an idle
  // connection closes.
  void shutdown(const std::string& reason);

  bool closed() const { return closed_; }
  bool idle() const { return !session_ && !closed_ && !lingering_; }
  const core::HostPort& peer() const { return peer_; }
  // A fresh id for the next stream this side opens.
  std::uint32_t next_stream_id() { return ++last_stream_id_; }

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  // The reader's time limit for its next read, and what passing it means.
  std::chrono::steady_clock::time_point read_limit() const;
  void on_read_timeout();
  // One decoded frame; false when the connection must close.
  bool dispatch(StreamFrame frame);
  bool on_open_frame(StreamFrame& frame);
  bool on_reply_frame(StreamFrame& frame);
  bool on_data_frame(StreamFrame& frame);
  bool on_end_frame(StreamFrame& frame);
  bool on_cancel_frame(StreamFrame& frame);
  bool violation(const std::string& reason);

  // Queues a frame; control frames (credit, keep-alive, cancel) go ahead
  // of data. The others (reply, data, end) are written in order; returns
  // the sequence number wait_written() takes.
  std::uint64_t enqueue(std::string frame, bool control);
  // Waits until the ordered frames queued so far are written.
  boost::asio::awaitable<void> wait_written(std::shared_ptr<StreamSession> session, std::uint64_t seq);

 public:
  // Grants credit for what the consumer read (nothing once the peer ended
  // or the stream left this connection).
  void grant(StreamSession& session);

 private:
  // Marks the session failed; with `tell_peer` the peer gets a CANCEL and
  // the connection lingers to let it through, otherwise it closes now.
  void fail(StreamSession& session, StreamStatus status, StreamWireCode wire_code, bool tell_peer);
  // Ends the session if both directions ended cleanly.
  void check_clean_end();
  void detach_session();
  void start_linger();

  boost::asio::any_io_executor executor_;
  std::unique_ptr<Stream> stream_;
  core::HostPort peer_;
  core::StreamSection limits_;
  bool server_side_;
  Hooks hooks_;
  StreamFrameDecoder decoder_;
  std::shared_ptr<StreamSession> session_;
  std::uint32_t last_stream_id_ = 0;

  std::deque<std::string> control_;
  std::deque<std::string> ordered_;
  std::uint64_t ordered_queued_ = 0;   // ordered frames queued in total
  std::uint64_t ordered_written_ = 0;  // ordered frames written in total
  AsyncSignal outgoing_;               // the writer: something to write or close
  AsyncSignal written_;                // writers of data: an ordered frame went out

  std::chrono::steady_clock::time_point last_read_;
  std::chrono::steady_clock::time_point last_write_;
  std::chrono::steady_clock::time_point idle_since_;
  std::chrono::steady_clock::time_point linger_until_{};
  bool lingering_ = false;
  bool closed_ = false;
};

}  // namespace idunno::net
