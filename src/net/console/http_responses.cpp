#include "net/console/http_responses.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace idunno::net::console {

namespace http = boost::beast::http;

namespace {

// The dashboard is one self-contained page: nothing may be fetched from
// elsewhere, and it may talk only to this console.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

HttpResponse text_response(const HttpRequest& request, http::status status, std::string body,
                           const char* content_type) {
  HttpResponse response{status, request.version()};
  response.set(http::field::server, "idunno-console");
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

HttpResponse route_response(const ConsoleContext& context, Route route, const HttpRequest& request) {
  if (request.method() != http::verb::get) {
    HttpResponse response = text_response(request, http::status::method_not_allowed,
                                          "method not allowed: the console answers GET only\n");
    response.set(http::field::allow, "GET");
    return response;
  }
  switch (route) {
    case Route::healthz:
      return text_response(request, http::status::ok, "ok");
    case Route::metrics:
      try {
        return text_response(request, http::status::ok, context.metrics_text(),
                             "text/plain; version=0.0.4; charset=utf-8");
      } catch (const std::exception& e) {
        return text_response(request, http::status::internal_server_error,
                             std::string("metrics unavailable: ") + e.what() + "\n");
      }
    case Route::index: {
      HttpResponse response =
          text_response(request, http::status::ok, context.page_html, "text/html; charset=utf-8");
      response.set("Content-Security-Policy", kPagePolicy);
      response.set("Referrer-Policy", "no-referrer");
      return response;
    }
    case Route::websocket: {
      HttpResponse response = text_response(request, http::status::upgrade_required,
                                            "/ws expects a WebSocket upgrade (Upgrade: websocket)\n");
      response.set(http::field::upgrade, "websocket");
      return response;
    }
    case Route::not_found:
      break;
  }
  return text_response(request, http::status::not_found,
                       "not found: the console serves /, /ws, /metrics and /healthz\n");
}

}  // namespace idunno::net::console
