#include "cli/online_http.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using net::console::StreamExchange;
using oip::OipError;
using oip::Target;

namespace {

// A JSON tensor value takes at least two bytes ("0,"), so a body of the
// limit holds at most half as many values.
std::size_t max_values_of(std::size_t body_bytes) { return body_bytes / 2 + 1; }

struct Answer {
  http::status status = http::status::ok;
  std::string body;
};

Answer error_answer(unsigned status, const std::string& message) {
  return {static_cast<http::status>(status), oip::error_body(message)};
}

// The body, or nullopt when it passed `limit` (then nothing more is read).
asio::awaitable<std::optional<std::string>> read_limited(StreamExchange* exchange, std::size_t limit) {
  std::string body;
  if (const auto length = exchange->content_length()) {
    if (*length > limit) co_return std::nullopt;
    body.reserve(static_cast<std::size_t>(*length));
  }
  char piece[64 * 1024];
  for (;;) {
    auto reading = exchange->read_body(std::span<char>(piece, sizeof(piece)));
    const std::size_t got = co_await std::move(reading);
    if (got == 0) break;
    if (body.size() + got > limit) co_return std::nullopt;
    body.append(piece, got);
  }
  co_return body;
}

asio::awaitable<Answer> answer_model(OnlineBackend* backend, Target target, bool ready_only) {
  auto asking = backend->model(target.model, target.version);
  const OnlineModel model = co_await std::move(asking);
  // Health and readiness answer with the status alone: the protocol asks for
  // empty bodies (200 is true; a refusal carries an error object).
  if (ready_only) co_return Answer{http::status::ok, ""};
  co_return Answer{http::status::ok, oip::model_metadata(model.info, target.model, model.version)};
}

asio::awaitable<Answer> answer_infer(OnlineBackend* backend, StreamExchange* exchange, Target target) {
  const std::size_t limit = backend->max_body_bytes();
  auto reading = read_limited(exchange, limit);
  const std::optional<std::string> body = co_await std::move(reading);
  if (!body) {
    co_return error_answer(413, "the request body is larger than the limit of " + std::to_string(limit) +
                                    " bytes (console.max_infer_body_mb); send fewer images per request");
  }
  oip::InferRequest request = oip::parse_infer_request(*body, max_values_of(limit));
  auto inferring = backend->infer(target.model, target.version, std::move(request.input));
  const OnlineScores scores = co_await std::move(inferring);
  co_return Answer{http::status::ok, oip::infer_response(target.model, scores.version, request.id, scores.classes,
                                                         scores.probabilities)};
}

asio::awaitable<Answer> answer(OnlineBackend* backend, StreamExchange* exchange) {
  const Target target = oip::parse_target_path(exchange->target().path);
  const bool get = exchange->method() == http::verb::get;
  const bool post = exchange->method() == http::verb::post;
  switch (target.kind) {
    case Target::Kind::unknown:
      co_return error_answer(404, "no such Open Inference Protocol route: " + exchange->target().path +
                                      " (see GET /v2, /v2/health/live, /v2/health/ready, /v2/models/M, "
                                      "/v2/models/M/ready, POST /v2/models/M/infer)");
    case Target::Kind::infer:
      if (!post) co_return error_answer(405, "/v2/models/M/infer takes POST");
      co_return co_await answer_infer(backend, exchange, target);
    default: break;
  }
  if (!get) co_return error_answer(405, exchange->target().path + " takes GET");
  switch (target.kind) {
    case Target::Kind::server: co_return Answer{http::status::ok, oip::server_metadata()};
    case Target::Kind::live: co_return Answer{http::status::ok, ""};
    case Target::Kind::ready:
      if (!backend->ready()) co_return error_answer(503, "no live node of this cluster can run models now");
      co_return Answer{http::status::ok, ""};
    case Target::Kind::model: co_return co_await answer_model(backend, target, false);
    case Target::Kind::model_ready: co_return co_await answer_model(backend, target, true);
    default: break;
  }
  co_return error_answer(404, "no such route");
}

asio::awaitable<void> serve(OnlineBackend* backend, StreamExchange* exchange) {
  Answer reply;
  try {
    auto answering = answer(backend, exchange);
    reply = co_await std::move(answering);
  } catch (const OipError& e) {
    reply = error_answer(e.status(), e.what());
  } catch (const boost::system::system_error& /*broken*/) {
    // The connection broke or timed out reading the body, or the request
    // was cancelled: nobody is left to answer (the backend turns its own
    // failures into OipError).
    throw;
  } catch (const std::exception& e) {
    spdlog::warn("event=online_request_failed path={} error={}", exchange->target().path, core::log_quote(e.what()));
    reply = error_answer(500, std::string("internal error: ") + e.what());
  }
  auto responding = exchange->respond(reply.status, std::move(reply.body));
  co_await std::move(responding);
}

}  // namespace

void add_online_routes(net::console::StreamRoutes& routes, OnlineBackend& backend) {
  auto handler = [backend = &backend](StreamExchange* exchange) { return serve(backend, exchange); };
  routes.add("/v2", handler);
  routes.add("/v2/", handler);
}

}  // namespace idunno::cli
