#pragma once
// StreamStatus: how a data-stream operation or a whole stream ended.
//
// Why: a caller moving a file reacts differently to each outcome (retry on
// another replica after a reset or an unreachable peer, give up on a
// rejection, report a cancellation with the peer's reason), so every
// outcome is a value with a code to branch on, never an exception (they are
// expected on a network). Plain value type.

#include <cstdint>
#include <string>

namespace idunno::net {

enum class StreamCode : std::uint8_t {
  ok,                    // so far so good / ended cleanly
  rejected,              // the server refused the open (peer_code and message say why)
  unreachable,           // could not connect to the peer
  cancelled_by_peer,     // the peer cancelled (peer_code and message say why)
  cancelled_locally,     // this side called cancel()
  timed_out_write,       // a write or a wait for credit made no progress for the write timeout
  timed_out_idle,        // nothing at all came from the peer for the idle timeout
  deadline_exceeded,     // the stream's deadline passed
  connection_reset,      // the connection broke (reset, closed mid-stream)
  protocol_violation,    // the peer broke the stream protocol
  cap_exceeded,          // more bytes than declared or than stream.max_bytes
  stopped,               // the local server or client is stopping
};

const char* to_string(StreamCode code);

// Codes a CANCEL or a rejection carries on the wire besides the
// application's own (which start at app_code_base).
enum class StreamWireCode : std::uint32_t {
  none = 0,
  unknown_method = 1,
  busy = 2,
  stopping = 3,
  deadline = 4,
  idle_timeout = 5,
  write_timeout = 6,
  cap_exceeded = 7,
  handler_failed = 8,
  unread_data = 9,
  cancelled = 10,
  app_code_base = 1000,
};

struct StreamStatus {
  StreamCode code = StreamCode::ok;
  // For rejected and cancelled_by_peer: the peer's StreamWireCode value or
  // application code.
  std::uint32_t peer_code = 0;
  std::string message;

  bool ok() const { return code == StreamCode::ok; }
  // "timed_out_idle: nothing from 127.0.0.1:7002 for 3000 ms".
  std::string describe() const;

  static StreamStatus failure(StreamCode code, std::string message, std::uint32_t peer_code = 0) {
    return StreamStatus{code, peer_code, std::move(message)};
  }
};

}  // namespace idunno::net
