#pragma once
// StreamSession: the state of one logical data stream (internal to
// src/net): its phase, the received bytes waiting for the consumer, the
// credit both ways, the trailers and the outcome.
//
// Why: a stream's state must outlive its connection (a handle held by a
// service still reports how the stream ended) while the connection moves on
// to the next stream. Shared by the DataStream handles and, while the
// stream runs, by its StreamConnection, which alone changes it. Touch only
// from the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/async_signal.hpp"
#include "net/data_stream_status.hpp"

namespace idunno::net {

class StreamConnection;

struct StreamSession {
  enum class Phase {
    opening,  // client: OPEN sent, waiting for the answer
    offered,  // server: OPEN received, not answered yet
    open,     // accepted: bytes may flow
    done,     // ended cleanly, rejected or failed; the connection moved on
  };

  StreamSession(boost::asio::any_io_executor executor, std::uint32_t stream_id, bool server)
      : id(stream_id), server_side(server), changed(std::move(executor)) {}

  std::uint32_t id;
  bool server_side;
  Phase phase = Phase::opening;
  core::HostPort peer;
  std::string method;
  std::string header;        // server side: the opener's header
  std::string reply_header;  // client side: the server's reply header
  std::uint64_t term = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // Receiving.
  std::deque<std::string> inbound;  // data frames not yet consumed
  std::size_t front_offset = 0;     // consumed bytes of inbound.front()
  std::size_t inbound_bytes = 0;
  std::uint64_t window = 0;         // our receive window
  std::uint64_t granted = 0;        // credit given in total (window + grants)
  std::uint64_t received = 0;       // data bytes received
  std::uint64_t consumed_ungranted = 0;
  std::uint64_t receive_cap = 0;
  bool peer_ended = false;
  std::string peer_trailer;

  // Sending.
  std::uint64_t credit = 0;  // bytes we may send in total
  std::uint64_t sent = 0;
  std::uint64_t send_cap = 0;
  bool writing = false;      // a write() or finish() is in progress
  bool finishing = false;    // END handed to the writer
  bool end_written = false;

  // Server side: the handler returned (data arriving now is unread).
  bool handler_done = false;
  // Client side: opened on a pooled connection (a failure before the answer
  // is retried on a new one).
  bool reused_connection = false;
  bool answered = false;

  StreamStatus status;  // the first failure; ok while fine
  AsyncSignal changed;  // any change: data, credit, end, phase, failure
  std::weak_ptr<StreamConnection> connection;

  bool failed() const { return !status.ok(); }
  bool clean_end() const { return phase == Phase::open && peer_ended && end_written && status.ok(); }
};

}  // namespace idunno::net
