#pragma once
// The console's plain HTTP answers, free of sockets.
//
// Why: what each route returns (status, headers, body) is decided in one
// place that tests can call directly; the session only reads and writes.
// Pure functions apart from calling the metrics provider; event loop only.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "net/console/console_context.hpp"
#include "net/console/http_access.hpp"

namespace idunno::net::console {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A response with a body of `content_type`, mirroring the request's version
// and keep-alive.
HttpResponse text_response(const HttpRequest& request, boost::beast::http::status status, std::string body,
                           const char* content_type = "text/plain; charset=utf-8");

// The answer to an allowed request on `route` that is not a WebSocket upgrade.
HttpResponse route_response(const ConsoleContext& context, Route route, const HttpRequest& request);

}  // namespace idunno::net::console
