#include "net/data_stream_status.hpp"

namespace idunno::net {

const char* to_string(StreamCode code) {
  switch (code) {
    case StreamCode::ok: return "ok";
    case StreamCode::rejected: return "rejected";
    case StreamCode::unreachable: return "unreachable";
    case StreamCode::cancelled_by_peer: return "cancelled_by_peer";
    case StreamCode::cancelled_locally: return "cancelled_locally";
    case StreamCode::timed_out_write: return "timed_out_write";
    case StreamCode::timed_out_idle: return "timed_out_idle";
    case StreamCode::deadline_exceeded: return "deadline_exceeded";
    case StreamCode::connection_reset: return "connection_reset";
    case StreamCode::protocol_violation: return "protocol_violation";
    case StreamCode::cap_exceeded: return "cap_exceeded";
    case StreamCode::stopped: return "stopped";
  }
  return "unknown";
}

std::string StreamStatus::describe() const {
  std::string out = to_string(code);
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace idunno::net
