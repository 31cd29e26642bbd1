#pragma once
// The console's WebSocket message format, free of sockets.
//
// Why: one place decides what a well-formed request frame is and how
// replies and events are spelled, so that the server, the client and their
// tests agree byte for byte. A malformed frame is an expected input: it
// yields an error reply (with the request's id when one could be read), never
// an exception. Pure functions; callable from any thread.
//
//   request  {"id":1,"cmd":"job-rates","args":[]}
//   reply    {"id":1,"ok":true,"result":{...}}  |  {"id":1,"ok":false,"error":"..."}
//   event    {"event":"events","data":{...}}

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "net/console/command_types.hpp"

namespace idunno::net::console {

// A request frame that parsed. `id` is echoed verbatim in the reply (null
// when the request carried none).
struct WsRequest {
  boost::json::value id;
  std::string cmd;
  std::vector<std::string> args;
};

// A request frame that did not parse: the reply to send instead.
struct WsBadRequest {
  boost::json::value id;  // null when no id could be read
  std::string error;
};

// Parses one text frame.
std::variant<WsRequest, WsBadRequest> parse_request(std::string_view frame);

// Serialises a request (used by clients).
std::string request_frame(const boost::json::value& id, const std::string& cmd, const std::vector<std::string>& args);

// Serialises the reply to request `id`.
std::string reply_frame(const boost::json::value& id, const CommandOutcome& outcome);
std::string error_frame(const boost::json::value& id, const std::string& error);

// Serialises an event: {"event":EVENT} (CONTRACT.md; EVENT carries its own
// "type" and "ts_ms").
std::string event_frame(const boost::json::value& event);

// A frame received by a client, classified.
struct WsReply {
  boost::json::value id;
  CommandOutcome outcome;
  boost::json::value raw;
};
struct WsEvent {
  boost::json::value data;  // the event object
  boost::json::value raw;
};
struct WsUnreadable {
  std::string error;
};

// Parses a frame sent by a server (reply or event).
std::variant<WsReply, WsEvent, WsUnreadable> parse_server_frame(std::string_view frame);

}  // namespace idunno::net::console
