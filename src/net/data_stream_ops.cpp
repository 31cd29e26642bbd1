// StreamConnection: what the two ends of a stream do (open, write, finish,
// accept, reject, cancel) and the DataStream handle around it.

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/timeout.hpp"
#include "net/data_stream_connection.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

StreamStatus not_open(const StreamSession& session) {
  if (session.failed()) return session.status;
  return StreamStatus::failure(StreamCode::protocol_violation, "the stream has already ended");
}

// Clears the session's one-operation-at-a-time flag however the operation
// ends.
struct Writing {
  explicit Writing(StreamSession& s) : session(s) {
    if (session.writing) throw std::logic_error("two writes or finishes at once on one data stream");
    session.writing = true;
  }
  ~Writing() { session.writing = false; }
  StreamSession& session;
};

}  // namespace

asio::awaitable<void> StreamConnection::open(std::shared_ptr<StreamSession> session, StreamOpen open) {
  session->phase = StreamSession::Phase::opening;
  session->peer = peer_;
  session->connection = weak_from_this();
  session->window = limits_.window_bytes;
  session->granted = session->window;
  const auto max_bytes = static_cast<std::uint64_t>(limits_.max_bytes);
  session->send_cap = open.declared_bytes() > 0 ? std::min(open.declared_bytes(), max_bytes) : max_bytes;
  open.set_window(session->window);
  session_ = session;
  last_read_ = Clock::now();
  enqueue(encode_stream_frame(StreamFrameType::open, session->id, open.SerializeAsString()), false);
  while (session->phase == StreamSession::Phase::opening && !session->failed()) co_await session->changed.wait();
}

asio::awaitable<void> StreamConnection::wait_written(std::shared_ptr<StreamSession> session, std::uint64_t seq) {
  while (!closed_ && !session->failed() && ordered_written_ < seq) co_await written_.wait();
}

void StreamConnection::grant(StreamSession& session) {
  if (session.peer_ended || session.failed() || session_.get() != &session || lingering_) return;
  if (session.consumed_ungranted == 0 || session.consumed_ungranted < std::max<std::uint64_t>(session.window / 4, 1)) {
    return;
  }
  enqueue(encode_credit_frame(session.id, session.consumed_ungranted), true);
  session.granted += session.consumed_ungranted;
  session.consumed_ungranted = 0;
}

asio::awaitable<StreamStatus> StreamConnection::write(std::shared_ptr<StreamSession> session,
                                                      std::span<const std::uint8_t> bytes) {
  if (session->phase == StreamSession::Phase::offered) co_await accept(session, {}, 0);
  if (session->phase != StreamSession::Phase::open || session->failed()) co_return not_open(*session);
  if (session->finishing) throw std::logic_error("DataStream::write after finish()");
  Writing writing(*session);
  if (session->sent + bytes.size() > session->send_cap) {
    fail(*session,
         StreamStatus::failure(StreamCode::cap_exceeded, "writing " + std::to_string(bytes.size()) + " more bytes after " +
                                                             std::to_string(session->sent) + " would pass the limit of " +
                                                             std::to_string(session->send_cap)),
         StreamWireCode::cap_exceeded, true);
    co_return session->status;
  }
  const auto write_timeout = std::chrono::milliseconds(limits_.write_timeout_ms);
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const auto waiting_since = Clock::now();
    while (!session->failed() && session->credit <= session->sent) {
      const auto left = waiting_since + write_timeout - Clock::now();
      if (left <= Clock::duration::zero()) {
        fail(*session,
             StreamStatus::failure(StreamCode::timed_out_write, "no credit from " + peer_.to_string() + " for " +
                                                                    std::to_string(limits_.write_timeout_ms) +
                                                                    " ms (the receiver does not read)"),
             StreamWireCode::write_timeout, true);
        break;
      }
      try {
        co_await core::with_timeout(session->changed.wait(), left);
      } catch (const core::TimeoutError&) {
      }
    }
    if (session->failed()) co_return session->status;
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({bytes.size() - offset, session->credit - session->sent, limits_.frame_bytes}));
    std::string frame;
    frame.reserve(stream_frame_header_bytes + n);
    append_stream_frame_header(frame, StreamFrameType::data, session->id, static_cast<std::uint32_t>(n));
    frame.append(reinterpret_cast<const char*>(bytes.data() + offset), n);
    session->sent += n;
    offset += n;
    const std::uint64_t seq = enqueue(std::move(frame), false);
    co_await wait_written(session, seq);
  }
  co_return session->status;
}

asio::awaitable<StreamStatus> StreamConnection::finish(std::shared_ptr<StreamSession> session, std::string trailer) {
  if (session->phase == StreamSession::Phase::offered) co_await accept(session, {}, 0);
  if (session->phase != StreamSession::Phase::open || session->failed()) co_return not_open(*session);
  if (session->finishing) throw std::logic_error("DataStream::finish called twice");
  if (trailer.size() > max_stream_control_frame) {
    throw std::length_error("data stream trailer of " + std::to_string(trailer.size()) + " bytes (limit " +
                            std::to_string(max_stream_control_frame) + ")");
  }
  Writing writing(*session);
  session->finishing = true;
  const std::uint64_t seq = enqueue(encode_stream_frame(StreamFrameType::end, session->id, trailer), false);
  co_await wait_written(session, seq);
  if (session->failed()) co_return session->status;
  session->end_written = true;
  if (session_ == session) check_clean_end();
  co_return session->status;
}

asio::awaitable<StreamStatus> StreamConnection::accept(std::shared_ptr<StreamSession> session, std::string reply_header,
                                                       std::uint64_t declared_bytes) {
  if (session->failed()) co_return session->status;
  if (session->phase != StreamSession::Phase::offered) {
    throw std::logic_error("DataStream::accept on a stream that is not offered");
  }
  StreamOpenReply reply;
  reply.set_accepted(true);
  reply.set_header(std::move(reply_header));
  reply.set_window(session->window);
  reply.set_declared_bytes(declared_bytes);
  const auto max_bytes = static_cast<std::uint64_t>(limits_.max_bytes);
  session->send_cap = declared_bytes > 0 ? std::min(declared_bytes, max_bytes) : max_bytes;
  session->phase = StreamSession::Phase::open;
  enqueue(encode_stream_frame(StreamFrameType::open_reply, session->id, reply.SerializeAsString()), false);
  session->changed.notify_all();
  co_return session->status;
}

void StreamConnection::reject(const std::shared_ptr<StreamSession>& session, std::uint32_t code, std::string reason) {
  if (session->phase != StreamSession::Phase::offered || session->failed()) return;
  StreamOpenReply reply;
  reply.set_accepted(false);
  reply.set_code(code);
  reply.set_reason(reason);
  enqueue(encode_stream_frame(StreamFrameType::open_reply, session->id, reply.SerializeAsString()), false);
  spdlog::debug("event=stream_rejected peer={} method={} code={} reason=\"{}\"", peer_.to_string(), session->method,
                code, reason);
  session->status = StreamStatus::failure(StreamCode::rejected, std::move(reason), code);
  if (session_ == session) detach_session();
}

void StreamConnection::cancel(const std::shared_ptr<StreamSession>& session, std::uint32_t code, std::string reason) {
  if (session->phase == StreamSession::Phase::done || session->failed() || session_ != session) return;
  fail(*session, StreamStatus::failure(StreamCode::cancelled_locally, std::move(reason), code),
       static_cast<StreamWireCode>(code), true);
}

void StreamConnection::shutdown(const std::string& reason) {
  if (session_ && !lingering_) {
    fail(*session_, StreamStatus::failure(StreamCode::stopped, reason), StreamWireCode::stopping, true);
  } else {
    close(StreamStatus::failure(StreamCode::stopped, reason));
  }
}

asio::awaitable<void> StreamConnection::handler_returned(std::shared_ptr<StreamSession> session) {
  session->handler_done = true;
  if (session_ != session) co_return;
  if (session->phase == StreamSession::Phase::offered) {
    reject(session, static_cast<std::uint32_t>(StreamWireCode::handler_failed), "the service ended without answering");
    co_return;
  }
  if (session->failed()) co_return;
  if (!session->finishing) co_await finish(session, {});
  if (session_ != session || session->failed()) co_return;
  if (!session->peer_ended && session->inbound_bytes > 0) {
    fail(*session,
         StreamStatus::failure(StreamCode::cancelled_locally, "the service ended before reading the whole stream"),
         StreamWireCode::unread_data, true);
  }
  // Otherwise the peer's end is still due: data arriving now cancels.
}

// The DataStream handle.

DataStream::DataStream(std::shared_ptr<StreamSession> session)
    : session_(std::move(session)),
      last_handle_(nullptr, [weak = std::weak_ptr<StreamSession>(session_)](void*) {
        auto dropped = weak.lock();
        // A returned handler's stream waits for the peer's end on its own.
        if (!dropped || dropped->phase == StreamSession::Phase::done || dropped->failed() || dropped->handler_done) {
          return;
        }
        try {
          if (auto connection = dropped->connection.lock()) {
            connection->cancel(dropped, static_cast<std::uint32_t>(StreamWireCode::cancelled),
                               "the stream was dropped before it ended");
          }
        } catch (const std::exception& e) {
          spdlog::warn("event=stream_drop_failed error=\"{}\"", e.what());
        }
      }) {}

asio::awaitable<DataRead> DataStream::read(std::span<std::uint8_t> buffer) {
  auto session = session_;
  if (buffer.empty()) co_return DataRead{0, false, session->status};
  if (session->phase == StreamSession::Phase::offered) {
    if (auto connection = session->connection.lock()) co_await connection->accept(session, {}, 0);
  }
  for (;;) {
    if (session->failed()) co_return DataRead{0, false, session->status};
    if (session->inbound_bytes > 0 && !buffer.empty()) {
      std::size_t copied = 0;
      while (copied < buffer.size() && !session->inbound.empty()) {
        const std::string& front = session->inbound.front();
        const std::size_t n = std::min(buffer.size() - copied, front.size() - session->front_offset);
        std::memcpy(buffer.data() + copied, front.data() + session->front_offset, n);
        copied += n;
        session->front_offset += n;
        if (session->front_offset == front.size()) {
          session->inbound.pop_front();
          session->front_offset = 0;
        }
      }
      session->inbound_bytes -= copied;
      session->consumed_ungranted += copied;
      if (auto connection = session->connection.lock()) connection->grant(*session);
      co_return DataRead{copied, false, StreamStatus{}};
    }
    if (session->peer_ended) co_return DataRead{0, true, StreamStatus{}};
    if (session->phase == StreamSession::Phase::done) co_return DataRead{0, false, not_open(*session)};
    co_await session->changed.wait();
  }
}

asio::awaitable<StreamStatus> DataStream::write(std::span<const std::uint8_t> bytes) {
  auto session = session_;
  auto connection = session->connection.lock();
  if (!connection) co_return not_open(*session);
  co_return co_await connection->write(session, bytes);
}

asio::awaitable<StreamStatus> DataStream::finish(std::string trailer) {
  auto session = session_;
  auto connection = session->connection.lock();
  if (!connection) co_return not_open(*session);
  co_return co_await connection->finish(session, std::move(trailer));
}

void DataStream::cancel(std::uint32_t code, std::string reason) {
  if (auto connection = session_->connection.lock()) connection->cancel(session_, code, std::move(reason));
}

asio::awaitable<StreamStatus> DataStream::accept(std::string reply_header, std::uint64_t declared_bytes) {
  auto session = session_;
  auto connection = session->connection.lock();
  if (!connection) co_return not_open(*session);
  co_return co_await connection->accept(session, std::move(reply_header), declared_bytes);
}

void DataStream::reject(std::uint32_t code, std::string reason) {
  if (auto connection = session_->connection.lock()) connection->reject(session_, code, std::move(reason));
}

StreamStatus DataStream::status() const { return session_->status; }
bool DataStream::ended() const { return session_->phase == StreamSession::Phase::done && session_->status.ok(); }
const std::string& DataStream::method() const { return session_->method; }
core::HostPort DataStream::peer() const { return session_->peer; }
const std::string& DataStream::header() const { return session_->header; }
const std::string& DataStream::reply_header() const { return session_->reply_header; }
std::uint64_t DataStream::term() const { return session_->term; }
const std::string& DataStream::trailer() const { return session_->peer_trailer; }
std::uint64_t DataStream::bytes_received() const { return session_->received; }
std::uint64_t DataStream::bytes_sent() const { return session_->sent; }

}  // namespace idunno::net
