#include "net/console/ws_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace idunno::net::console {

namespace json = boost::json;

namespace {

constexpr std::string_view kExample = R"(; expected {"id":1,"cmd":"help","args":[]})";

WsBadRequest bad(json::value id, std::string error) {
  return WsBadRequest{std::move(id), "malformed request: " + std::move(error) + std::string(kExample)};
}

}  // namespace

std::variant<WsRequest, WsBadRequest> parse_request(std::string_view frame) {
  json::error_code ec;
  json::value parsed = json::parse(frame, ec);
  if (ec) return bad(nullptr, "not valid JSON (" + ec.message() + ")");
  const json::object* object = parsed.if_object();
  if (object == nullptr) return bad(nullptr, "not a JSON object");

  WsRequest request;
  if (const json::value* id = object->if_contains("id")) request.id = *id;

  const json::value* cmd = object->if_contains("cmd");
  if (cmd == nullptr) return bad(request.id, "missing \"cmd\"");
  if (!cmd->is_string()) return bad(request.id, "\"cmd\" must be a string");
  if (cmd->get_string().empty()) return bad(request.id, "\"cmd\" is empty");
  request.cmd = std::string(cmd->get_string());

  if (const json::value* args = object->if_contains("args"); args != nullptr && !args->is_null()) {
    const json::array* array = args->if_array();
    if (array == nullptr) return bad(request.id, "\"args\" must be an array of strings");
    request.args.reserve(array->size());
    for (const json::value& arg : *array) {
      if (!arg.is_string()) return bad(request.id, "\"args\" must be an array of strings");
      request.args.emplace_back(arg.get_string());
    }
  }
  return request;
}

std::string request_frame(const json::value& id, const std::string& cmd, const std::vector<std::string>& args) {
  json::array array;
  for (const auto& arg : args) array.emplace_back(arg);
  return json::serialize(json::object{{"id", id}, {"cmd", cmd}, {"args", std::move(array)}});
}

std::string reply_frame(const json::value& id, const CommandOutcome& outcome) {
  if (!outcome.ok) return error_frame(id, outcome.error);
  return json::serialize(json::object{{"id", id}, {"ok", true}, {"result", outcome.result}});
}

std::string error_frame(const json::value& id, const std::string& error) {
  return json::serialize(json::object{{"id", id}, {"ok", false}, {"error", error}});
}

std::string event_frame(const json::value& event) { return json::serialize(json::object{{"event", event}}); }

std::variant<WsReply, WsEvent, WsUnreadable> parse_server_frame(std::string_view frame) {
  json::error_code ec;
  json::value parsed = json::parse(frame, ec);
  if (ec) return WsUnreadable{"reply is not valid JSON (" + ec.message() + ")"};
  const json::object* object = parsed.if_object();
  if (object == nullptr) return WsUnreadable{"reply is not a JSON object"};

  if (const json::value* event = object->if_contains("event")) {
    if (!event->is_object()) return WsUnreadable{"event frame whose \"event\" is not an object"};
    return WsEvent{*event, parsed};
  }

  const json::value* ok = object->if_contains("ok");
  if (ok == nullptr || !ok->is_bool()) return WsUnreadable{"reply without a boolean \"ok\""};
  WsReply reply;
  if (const json::value* id = object->if_contains("id")) reply.id = *id;
  reply.outcome.ok = ok->get_bool();
  if (reply.outcome.ok) {
    if (const json::value* result = object->if_contains("result")) reply.outcome.result = *result;
  } else {
    const json::value* error = object->if_contains("error");
    reply.outcome.error = (error != nullptr && error->is_string()) ? std::string(error->get_string())
                                                                   : std::string("command failed (no reason given)");
  }
  reply.raw = std::move(parsed);
  return reply;
}

}  // namespace idunno::net::console
