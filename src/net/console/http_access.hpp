#pragma once
// Routing and access control of console HTTP requests, free of sockets.
//
// Why: who may use the console is a security decision; keeping it in pure
// functions makes every rule testable without a server.
//  - With a token set, every request must carry `Authorization: Bearer T`;
//    `?token=T` is also accepted on `/` and `/ws`, so that a browser page can
//    be opened with the token in its URL and pass it on to its WebSocket.
//  - Without a token (allowed only on loopback), requests must name a
//    loopback host (defeats DNS rebinding) and a WebSocket upgrade from a
//    browser must come from the console's own origin (defeats another web
//    page driving the console through the user's browser).
// Pure functions; callable from any thread.

#include <boost/beast/http/status.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace idunno::net::console {

enum class Route { healthz, metrics, index, websocket, not_found };

// A request target split into path and decoded query parameters.
struct RequestTarget {
  std::string path;
  std::map<std::string, std::string> query;
};

// Splits "/ws?token=a%20b" into "/ws" and {token: "a b"}.
RequestTarget parse_target(std::string_view target);

// Decodes %XX escapes; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);

Route route_of(std::string_view path);

// The parts of a request that access control looks at (empty when absent).
struct AccessRequest {
  Route route = Route::not_found;
  std::string_view authorization;  // Authorization header
  std::string_view host;           // Host header
  std::string_view origin;         // Origin header
  const std::map<std::string, std::string>* query = nullptr;
  // The origin is another console of this cluster (a dashboard carrying on
  // from a node that died), so its WebSocket is welcome without a token.
  bool trusted_origin = false;
};

// Allowed, or the status and body to refuse with.
struct AccessDecision {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string reason;
  bool allowed() const { return status == boost::beast::http::status::ok; }
};

AccessDecision check_access(const std::string& token, const AccessRequest& request);

// Compares in time independent of where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// The host name of a Host header value ("127.0.0.1:8001" -> "127.0.0.1",
// "[::1]:8001" -> "::1").
std::string host_of(std::string_view host_header);

}  // namespace idunno::net::console
