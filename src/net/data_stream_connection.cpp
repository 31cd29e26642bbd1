// StreamConnection: the reader, the writer and the frames from the peer.
// The operations a stream's ends call are in data_stream_ops.cpp.

#include "net/data_stream_connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/logging.hpp"
#include "core/timeout.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t read_chunk_bytes = 256 * 1024;
// How long a side that cancelled keeps reading (and dropping) what the peer
// still sends, so that its CANCEL arrives before the connection closes.
constexpr std::chrono::milliseconds linger_time{1000};
// Largest window a peer may announce.
constexpr std::uint64_t max_window = 1ull << 30;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// with_timeout reports a timeout when the owner's cancellation reached the
// timer first: tell the two apart.
asio::awaitable<bool> cancelled() {
  const auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

StreamConnection::StreamConnection(asio::any_io_executor executor, std::unique_ptr<Stream> stream,
                                   const core::StreamSection& limits, bool server_side, Hooks hooks)
    : executor_(executor),
      stream_(std::move(stream)),
      peer_(stream_->peer()),
      limits_(limits),
      server_side_(server_side),
      hooks_(std::move(hooks)),
      outgoing_(executor),
      written_(executor),
      last_read_(Clock::now()),
      last_write_(Clock::now()),
      idle_since_(Clock::now()) {}

StreamConnection::~StreamConnection() {
  if (!closed_) {
    closed_ = true;
    stream_->close();
  }
}

asio::awaitable<void> StreamConnection::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  auto self = shared_from_this();
  co_await (read_loop() && write_loop());
  close(StreamStatus::failure(StreamCode::stopped, "stream connection stopped"));
  if (hooks_.on_closed) hooks_.on_closed(*this);
}

Clock::time_point StreamConnection::read_limit() const {
  if (lingering_) return linger_until_;
  if (session_) return std::min(last_read_ + std::chrono::milliseconds(limits_.idle_timeout_ms), session_->deadline);
  const auto pool_idle = std::chrono::milliseconds(limits_.pool_idle_ms) * (server_side_ ? 2 : 1);
  return idle_since_ + pool_idle;
}

void StreamConnection::on_read_timeout() {
  if (lingering_) {
    close(StreamStatus{});
    return;
  }
  if (session_) {
    if (Clock::now() >= session_->deadline) {
      fail(*session_, StreamStatus::failure(StreamCode::deadline_exceeded, "the stream's deadline passed"),
           StreamWireCode::deadline, true);
    } else {
      fail(*session_,
           StreamStatus::failure(StreamCode::timed_out_idle, "nothing from " + peer_.to_string() + " for " +
                                                                 std::to_string(limits_.idle_timeout_ms) + " ms"),
           StreamWireCode::idle_timeout, false);
    }
    return;
  }
  spdlog::debug("event=stream_conn_closed side={} peer={} reason=\"idle\"", server_side_ ? "server" : "client",
                peer_.to_string());
  close(StreamStatus{});
}

asio::awaitable<void> StreamConnection::read_loop() {
  while (!closed_) {
    const auto left = read_limit() - Clock::now();
    auto room = decoder_.prepare(read_chunk_bytes);
    std::size_t n = 0;
    bool timed_out = false;
    try {
      n = co_await core::with_timeout(stream_->read_some(room), left);
    } catch (const core::TimeoutError&) {
      timed_out = true;
    } catch (const boost::system::system_error& e) {
      close(StreamStatus::failure(StreamCode::connection_reset,
                                  "connection to " + peer_.to_string() + " lost: " + e.code().message()));
      co_return;
    }
    if (timed_out) {
      // (Not `if (co_await ...)`: GCC 12 miscompiles some awaits in conditions.)
      const bool stopping = co_await cancelled();
      if (stopping) break;
      on_read_timeout();
      continue;
    }
    if (n == 0) {
      if (session_) {
        close(StreamStatus::failure(StreamCode::connection_reset,
                                    peer_.to_string() + " closed the connection in the middle of a stream"));
      } else {
        close(StreamStatus{});
      }
      co_return;
    }
    last_read_ = Clock::now();
    decoder_.commit(n);
    for (;;) {
      StreamDecodeResult decoded = decoder_.next();
      if (decoded.kind == StreamDecodeResult::Kind::need_more) break;
      if (decoded.kind == StreamDecodeResult::Kind::error) {
        violation(decoded.error);
        co_return;
      }
      if (lingering_) continue;  // a CANCEL is on its way: drop what still comes
      if (!dispatch(std::move(decoded.frame))) co_return;
    }
  }
  close(StreamStatus::failure(StreamCode::stopped, "stream connection stopped"));
}

asio::awaitable<void> StreamConnection::write_loop() {
  const auto keepalive_interval = std::chrono::milliseconds(std::max(limits_.idle_timeout_ms / 3, 1));
  const auto write_timeout = std::chrono::milliseconds(limits_.write_timeout_ms);
  while (!closed_) {
    std::string frame;
    bool ordered = false;
    if (!control_.empty()) {
      frame = std::move(control_.front());
      control_.pop_front();
    } else if (!ordered_.empty()) {
      frame = std::move(ordered_.front());
      ordered_.pop_front();
      ordered = true;
    } else {
      bool timed_out = false;
      try {
        if (session_ && !lingering_) {
          co_await core::with_timeout(outgoing_.wait(), keepalive_interval);
        } else {
          co_await outgoing_.wait();
        }
      } catch (const core::TimeoutError&) {
        timed_out = true;
      } catch (const boost::system::system_error&) {
        close(StreamStatus::failure(StreamCode::stopped, "stream connection stopped"));
        co_return;
      }
      if (timed_out) {
        const bool stopping = co_await cancelled();
        if (stopping) break;
        if (session_ && Clock::now() - last_write_ >= keepalive_interval) {
          control_.push_back(encode_stream_frame(StreamFrameType::keepalive, session_->id, {}));
        }
      }
      continue;
    }
    try {
      co_await core::with_timeout(stream_->write_all(bytes_of(frame)), write_timeout);
    } catch (const core::TimeoutError&) {
      close(StreamStatus::failure(StreamCode::timed_out_write, "the connection to " + peer_.to_string() +
                                                                   " took nothing for " +
                                                                   std::to_string(limits_.write_timeout_ms) + " ms"));
      co_return;
    } catch (const boost::system::system_error& e) {
      close(StreamStatus::failure(StreamCode::connection_reset,
                                  "write to " + peer_.to_string() + " failed: " + e.code().message()));
      co_return;
    }
    last_write_ = Clock::now();
    if (ordered) {
      ++ordered_written_;
      written_.notify_all();
    }
  }
  close(StreamStatus::failure(StreamCode::stopped, "stream connection stopped"));
}

bool StreamConnection::dispatch(StreamFrame frame) {
  switch (frame.type) {
    case StreamFrameType::keepalive:
      return true;
    case StreamFrameType::credit: {
      if (session_ && frame.stream_id == session_->id) {
        if (session_->phase != StreamSession::Phase::open) return violation("credit before the stream was accepted");
        const std::uint64_t grant = credit_of(frame);
        if (grant == 0 || grant > max_window || session_->credit + grant - session_->sent > max_window) {
          return violation("credit of " + std::to_string(grant) + " bytes beyond any window");
        }
        session_->credit += grant;
        session_->changed.notify_all();
        return true;
      }
      // A late grant for a stream that ended on this connection.
      if (frame.stream_id <= last_stream_id_) return true;
      return violation("credit for unknown stream " + std::to_string(frame.stream_id));
    }
    case StreamFrameType::open: return on_open_frame(frame);
    case StreamFrameType::open_reply: return on_reply_frame(frame);
    case StreamFrameType::data: return on_data_frame(frame);
    case StreamFrameType::end: return on_end_frame(frame);
    case StreamFrameType::cancel: return on_cancel_frame(frame);
  }
  return violation("unknown frame type");
}

bool StreamConnection::on_open_frame(StreamFrame& frame) {
  if (!server_side_) return violation("open frame sent to the opening side");
  if (session_) return violation("open of stream " + std::to_string(frame.stream_id) + " while another runs");
  if (frame.stream_id <= last_stream_id_) return violation("stream id " + std::to_string(frame.stream_id) + " reused");
  StreamOpen open;
  if (!open.ParseFromString(frame.payload)) return violation("malformed open frame");
  if (open.method().empty()) return violation("open without a method");
  if (open.window() == 0 || open.window() > max_window) {
    return violation("open with a receive window of " + std::to_string(open.window()) + " bytes");
  }
  last_stream_id_ = frame.stream_id;
  auto session = std::make_shared<StreamSession>(executor_, frame.stream_id, true);
  session->phase = StreamSession::Phase::offered;
  session->peer = peer_;
  session->method = std::move(*open.mutable_method());
  session->header = std::move(*open.mutable_header());
  session->term = open.term();
  if (open.deadline_ms() > 0) session->deadline = Clock::now() + std::chrono::milliseconds(open.deadline_ms());
  session->window = limits_.window_bytes;
  session->granted = session->window;
  session->credit = open.window();
  const auto max_bytes = static_cast<std::uint64_t>(limits_.max_bytes);
  session->receive_cap = open.declared_bytes() > 0 ? open.declared_bytes() : max_bytes;
  session->send_cap = max_bytes;
  session->connection = weak_from_this();
  session_ = session;
  last_read_ = Clock::now();
  if (open.declared_bytes() > max_bytes) {
    reject(session, static_cast<std::uint32_t>(StreamWireCode::cap_exceeded),
           "declares " + std::to_string(open.declared_bytes()) + " bytes, more than stream.max_bytes (" +
               std::to_string(max_bytes) + ")");
    return true;
  }
  if (hooks_.on_open) hooks_.on_open(session);
  return true;
}

bool StreamConnection::on_reply_frame(StreamFrame& frame) {
  if (server_side_) return violation("open reply sent to the serving side");
  if (!session_ || session_->id != frame.stream_id || session_->phase != StreamSession::Phase::opening) {
    return violation("unexpected open reply for stream " + std::to_string(frame.stream_id));
  }
  StreamOpenReply reply;
  if (!reply.ParseFromString(frame.payload)) return violation("malformed open reply");
  session_->answered = true;
  if (!reply.accepted()) {
    session_->status = StreamStatus::failure(StreamCode::rejected, reply.reason(), reply.code());
    detach_session();
    if (hooks_.on_idle) hooks_.on_idle(shared_from_this());
    return true;
  }
  if (reply.window() == 0 || reply.window() > max_window) {
    return violation("open reply with a receive window of " + std::to_string(reply.window()) + " bytes");
  }
  session_->phase = StreamSession::Phase::open;
  session_->credit = reply.window();
  session_->reply_header = std::move(*reply.mutable_header());
  const auto max_bytes = static_cast<std::uint64_t>(limits_.max_bytes);
  session_->receive_cap = reply.declared_bytes() > 0 ? reply.declared_bytes() : max_bytes;
  session_->changed.notify_all();
  return true;
}

bool StreamConnection::on_data_frame(StreamFrame& frame) {
  if (!session_ || session_->id != frame.stream_id) {
    return violation("data for unknown stream " + std::to_string(frame.stream_id));
  }
  StreamSession& session = *session_;
  if (session.phase != StreamSession::Phase::open) return violation("data before the stream was accepted");
  if (session.peer_ended) return violation("data after the end of the stream");
  const std::size_t size = frame.payload.size();
  if (size == 0) return violation("empty data frame");
  if (session.received + size > session.granted) {
    return violation("data beyond credit: " + std::to_string(size) + " bytes with " +
                     std::to_string(session.granted - session.received) + " of credit left");
  }
  session.received += size;
  if (session.received > session.receive_cap) {
    fail(session,
         StreamStatus::failure(StreamCode::cap_exceeded, peer_.to_string() + " sent more than " +
                                                             std::to_string(session.receive_cap) + " bytes"),
         StreamWireCode::cap_exceeded, true);
    return true;
  }
  if (session.handler_done) {
    fail(session,
         StreamStatus::failure(StreamCode::cancelled_locally, "the service ended before reading the whole stream"),
         StreamWireCode::unread_data, true);
    return true;
  }
  session.inbound_bytes += size;
  session.inbound.push_back(std::move(frame.payload));
  session.changed.notify_all();
  return true;
}

bool StreamConnection::on_end_frame(StreamFrame& frame) {
  if (!session_ || session_->id != frame.stream_id) {
    return violation("end of unknown stream " + std::to_string(frame.stream_id));
  }
  if (session_->phase != StreamSession::Phase::open) return violation("end before the stream was accepted");
  if (session_->peer_ended) return violation("second end of one stream");
  session_->peer_ended = true;
  session_->peer_trailer = std::move(frame.payload);
  session_->changed.notify_all();
  check_clean_end();
  return true;
}

bool StreamConnection::on_cancel_frame(StreamFrame& frame) {
  if (!session_ || session_->id != frame.stream_id) {
    if (frame.stream_id <= last_stream_id_) return true;  // a stream that already ended here
    return violation("cancel of unknown stream " + std::to_string(frame.stream_id));
  }
  StreamCancel cancel;
  if (!cancel.ParseFromString(frame.payload)) return violation("malformed cancel frame");
  fail(*session_, StreamStatus::failure(StreamCode::cancelled_by_peer, cancel.reason(), cancel.code()),
       StreamWireCode::none, false);
  return false;
}

bool StreamConnection::violation(const std::string& reason) {
  spdlog::warn("event=stream_conn_closed side={} peer={} reason={}", server_side_ ? "server" : "client",
               peer_.to_string(), core::log_quote("protocol violation: " + reason));
  close(StreamStatus::failure(StreamCode::protocol_violation,
                              peer_.to_string() + " broke the stream protocol: " + reason));
  return false;
}

void StreamConnection::fail(StreamSession& session, StreamStatus status, StreamWireCode wire_code, bool tell_peer) {
  if (session.failed() || session.phase == StreamSession::Phase::done) return;
  spdlog::info("event=stream_failed side={} peer={} method={} stream={} status={} reason={}",
               server_side_ ? "server" : "client", peer_.to_string(), session.method, session.id,
               to_string(status.code), core::log_quote(status.message));
  session.status = std::move(status);
  session.changed.notify_all();
  if (!tell_peer || closed_) {
    close(session.status);
    return;
  }
  StreamCancel cancel;
  cancel.set_code(static_cast<std::uint32_t>(wire_code));
  cancel.set_reason(session.status.message);
  ordered_.clear();  // nothing more of this stream goes out
  enqueue(encode_stream_frame(StreamFrameType::cancel, session.id, cancel.SerializeAsString()), true);
  start_linger();
}

void StreamConnection::start_linger() {
  lingering_ = true;
  linger_until_ = Clock::now() + linger_time;
  detach_session();
  written_.notify_all();
}

void StreamConnection::check_clean_end() {
  if (!session_ || !session_->clean_end()) return;
  detach_session();
  if (!server_side_ && hooks_.on_idle) hooks_.on_idle(shared_from_this());
}

void StreamConnection::detach_session() {
  if (!session_) return;
  auto session = std::move(session_);
  session_.reset();
  session->phase = StreamSession::Phase::done;
  session->changed.notify_all();
  idle_since_ = Clock::now();
  if (hooks_.on_stream_end) hooks_.on_stream_end(*this, *session);
}

void StreamConnection::close(StreamStatus status) {
  if (closed_) return;
  closed_ = true;
  if (session_ && !session_->failed()) {
    session_->status = status.ok() ? StreamStatus::failure(StreamCode::connection_reset, "connection closed")
                                   : std::move(status);
  }
  detach_session();
  control_.clear();
  ordered_.clear();
  outgoing_.notify_all();
  written_.notify_all();
  stream_->close();
}

std::uint64_t StreamConnection::enqueue(std::string frame, bool control) {
  if (closed_) return 0;
  if (control) {
    control_.push_back(std::move(frame));
  } else {
    ordered_.push_back(std::move(frame));
    ++ordered_queued_;
  }
  outgoing_.notify_all();
  return ordered_queued_;
}

}  // namespace idunno::net
