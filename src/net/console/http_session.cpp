#include "net/console/http_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "net/console/http_access.hpp"
#include "net/console/http_responses.hpp"
#include "net/console/ws_session.hpp"

namespace idunno::net::console {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kBodyLimit = 16 * 1024;

std::string peer_of(const asio::ip::tcp::socket& socket) {
  beast::error_code error;
  const auto endpoint = socket.remote_endpoint(error);
  if (error) return "unknown";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void half_close(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace

HttpSession::HttpSession(std::shared_ptr<ConsoleContext> context, asio::ip::tcp::socket socket,
                         ConnectionRegistration registration)
    : context_(std::move(context)),
      stream_(std::move(socket)),
      peer_(peer_of(stream_.socket())),
      registration_(std::move(registration)) {
  registration_.set(this);
}

asio::awaitable<void> HttpSession::run() {
  const ConsoleLimits& limits = context_->limits;
  beast::flat_buffer buffer;
  while (!close_requested_ && !context_->stopping) {
    // The header first: a streaming route reads its body itself.
    http::request_parser<http::empty_body> header_parser;
    header_parser.header_limit(kHeaderLimit);
    // The body limit depends on the route, known only after the header.
    header_parser.body_limit(boost::none);
    stream_.expires_after(limits.http_timeout);
    waiting_for_request_ = true;
    auto [read_error, bytes] =
        co_await http::async_read_header(stream_, buffer, header_parser, as_tuple(use_awaitable));
    waiting_for_request_ = false;
    if (read_error) {
      if (read_error == http::error::header_limit) co_await refuse_too_large();
      break;
    }
    const auto& header = header_parser.get();
    const RequestTarget target = parse_target(header.target());
    const Route route = route_of(target.path);

    AccessRequest access_request{route, header[http::field::authorization], header[http::field::host],
                                 header[http::field::origin], &target.query};
    const std::string_view origin = header[http::field::origin];
    access_request.trusted_origin = !origin.empty() && context_->trusted_origin && context_->trusted_origin(origin);
    const AccessDecision access = check_access(context_->token, access_request);
    if (!access.allowed()) {
      ++context_->counters.refused_total;
      spdlog::warn("event=console_refused peer={} path={} status={}", peer_, target.path,
                   static_cast<unsigned>(access.status));
      HttpRequest stub;
      stub.version(header.version());
      // The JSON APIs answer in JSON ({"error": ...}), as their clients expect.
      const bool json_api = target.path == "/v2" || target.path.starts_with("/v2/");
      std::string reason = access.reason;
      while (json_api && !reason.empty() && reason.back() == '\n') reason.pop_back();
      auto response = json_api ? text_response(stub, access.status,
                                               boost::json::serialize(boost::json::object{{"error", reason}}),
                                               "application/json")
                               : text_response(stub, access.status, access.reason);
      if (access.status == http::status::unauthorized) {
        response.set(http::field::www_authenticate, "Bearer realm=\"idunno console\"");
      }
      response.keep_alive(false);
      co_await http::async_write(stream_, response, as_tuple(use_awaitable));
      break;
    }

    if (const StreamHandler* handler = context_->stream_routes ? context_->stream_routes->find(target.path) : nullptr) {
      StreamExchange::Parser body_parser{std::move(header_parser)};
      body_parser.body_limit(boost::none);
      if (!co_await serve_stream(*handler, &body_parser, &buffer, target)) break;
      continue;
    }

    http::request_parser<http::string_body> parser{std::move(header_parser)};
    parser.body_limit(kBodyLimit);
    stream_.expires_after(limits.http_timeout);
    auto [body_error, body_bytes] = co_await http::async_read(stream_, buffer, parser, as_tuple(use_awaitable));
    if (body_error) {
      if (body_error == http::error::body_limit) co_await refuse_too_large();
      break;
    }
    HttpRequest request = parser.release();

    if (route == Route::websocket && beast::websocket::is_upgrade(request)) {
      // The WebSocket keeps its own timeouts; the HTTP ones must be off.
      stream_.expires_never();
      WsSession session(context_, std::move(stream_), peer_);
      registration_.set(&session);
      co_await session.run(std::move(request));
      registration_.set(nullptr);  // the session is about to be destroyed
      co_return;
    }

    auto response = route_response(*context_, route, request);
    if (close_requested_ || context_->stopping) response.keep_alive(false);
    auto [write_error, written] = co_await http::async_write(stream_, response, as_tuple(use_awaitable));
    if (write_error || !response.keep_alive()) break;
  }
  half_close(stream_);
}

asio::awaitable<void> HttpSession::refuse_too_large() {
  HttpRequest stub;
  auto response = text_response(stub, http::status::payload_too_large, "request too large\n");
  response.keep_alive(false);
  co_await http::async_write(stream_, response, as_tuple(use_awaitable));
}

asio::awaitable<bool> HttpSession::serve_stream(StreamHandler handler, StreamExchange::Parser* parser,
                                                beast::flat_buffer* buffer, RequestTarget target) {
  const std::string path = target.path;
  StreamExchange exchange(stream_, *buffer, *parser, std::move(target), context_->limits.http_timeout);
  std::string failure;
  try {
    co_await handler(&exchange);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::warn("event=console_stream_failed peer={} path={} error={}", peer_, path, core::log_quote(failure));
    // Cut mid-body: the client must not take a short body for the whole.
    if (exchange.response_started()) co_return false;
  }
  if (!exchange.response_started()) {
    auto [error] = co_await asio::co_spawn(
        co_await asio::this_coro::executor,
        exchange.respond(http::status::internal_server_error,
                         failure.empty() ? R"({"error":"the handler gave no answer"})"
                                         : R"({"error":"internal error while streaming"})"),
        as_tuple(use_awaitable));
    if (error) co_return false;
  }
  co_return exchange.reusable() && !close_requested_ && !context_->stopping;
}

void HttpSession::request_close() {
  close_requested_ = true;
  // Idle between requests: stop waiting. Mid-request: the answer is still
  // written, then the connection closes.
  if (waiting_for_request_) stream_.cancel();
}

asio::awaitable<void> serve_connection(std::shared_ptr<ConsoleContext> context, asio::ip::tcp::socket socket,
                                       ConnectionRegistration registration) {
  // Cancellation ends the current I/O; the session still finishes its own
  // clean-up (waiting for its commands) instead of unwinding past them.
  co_await asio::this_coro::throw_if_cancelled(false);
  HttpSession session(context, std::move(socket), std::move(registration));
  co_await session.run();
}

asio::awaitable<void> refuse_connection(std::shared_ptr<ConsoleContext> context, asio::ip::tcp::socket socket) {
  co_await asio::this_coro::throw_if_cancelled(false);
  // Counts this connection while it is being turned away.
  struct Refusing {
    ConsoleContext& context;
    explicit Refusing(ConsoleContext& c) : context(c) { ++context.refusing; }
    ~Refusing() { --context.refusing; }
    Refusing(const Refusing&) = delete;
    Refusing& operator=(const Refusing&) = delete;
  } refusing(*context);
  spdlog::warn("event=console_connection_refused peer={} reason=too_many_connections limit={}", peer_of(socket),
               context->limits.max_connections);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(5));
  beast::flat_buffer buffer;
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  auto [read_error, bytes] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
  if (!read_error) {
    auto response = text_response(parser.get(), http::status::service_unavailable,
                                  "too many console connections (limit " +
                                      std::to_string(context->limits.max_connections) +
                                      "); close other dashboards or clients and retry\n");
    response.keep_alive(false);
    co_await http::async_write(stream, response, as_tuple(use_awaitable));
  }
  half_close(stream);
}

}  // namespace idunno::net::console
