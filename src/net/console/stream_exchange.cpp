#include "net/console/stream_exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

namespace idunno::net::console {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;

struct StreamExchange::Response {
  http::response<http::buffer_body> message;
  http::response_serializer<http::buffer_body> serializer{message};
};

StreamExchange::StreamExchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, Parser& parser,
                               RequestTarget target, std::chrono::milliseconds io_timeout)
    : stream_(stream), buffer_(buffer), parser_(parser), target_(std::move(target)), io_timeout_(io_timeout) {}

StreamExchange::~StreamExchange() = default;

std::string StreamExchange::header(http::field field) const {
  const auto value = parser_.get()[field];
  return std::string(value.data(), value.size());
}

std::string StreamExchange::header(std::string_view name) const {
  const auto& fields = parser_.get();
  const auto it = fields.find(name);
  return it == fields.end() ? std::string() : std::string(it->value());
}

asio::awaitable<std::size_t> StreamExchange::read_body(std::span<char> out) {
  if (out.empty() || parser_.is_done()) co_return 0;
  if (!continue_sent_) {
    continue_sent_ = true;
    // A client that sent `Expect: 100-continue` (curl -T) waits for this.
    if (beast::iequals(header(http::field::expect), "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, parser_.get().version()};
      stream_.expires_after(io_timeout_);
      auto [error, written] = co_await http::async_write(stream_, go_on, as_tuple(use_awaitable));
      if (error) throw boost::system::system_error(error);
    }
  }
  // A read takes at most the buffer's free capacity (at least 512 bytes):
  // without room, a body would come in 512-byte reads.
  buffer_.reserve(out.size());
  while (!parser_.is_done()) {
    auto& body = parser_.get().body();
    body.data = out.data();
    body.size = out.size();
    stream_.expires_after(io_timeout_);
    auto [error, bytes] = co_await http::async_read_some(stream_, buffer_, parser_, as_tuple(use_awaitable));
    if (error == http::error::need_buffer) error = {};
    if (error) throw boost::system::system_error(error);
    const std::size_t got = out.size() - body.size;
    if (got > 0) co_return got;
  }
  co_return 0;
}

asio::awaitable<void> StreamExchange::begin_response(http::status status, std::optional<std::uint64_t> length,
                                                     std::string content_type, Headers headers) {
  if (response_) throw std::logic_error("StreamExchange: the response was already started");
  response_ = std::make_unique<Response>();
  auto& message = response_->message;
  message.result(status);
  message.version(parser_.get().version());
  message.set(http::field::server, "idunno-console");
  message.set(http::field::content_type, content_type);
  message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : headers) message.set(name, value);
  // A request whose body was not read to its end leaves the connection
  // unusable for another request.
  message.keep_alive(parser_.get().keep_alive() && parser_.is_done());
  if (length) {
    message.content_length(*length);
  } else {
    message.chunked(true);
  }
  message.body().data = nullptr;
  message.body().size = 0;
  message.body().more = true;
  stream_.expires_after(io_timeout_);
  auto [error, bytes] = co_await http::async_write_header(stream_, response_->serializer, as_tuple(use_awaitable));
  if (error) throw boost::system::system_error(error);
}

asio::awaitable<void> StreamExchange::write_body(std::span<const char> bytes) {
  if (!response_) throw std::logic_error("StreamExchange: begin_response first");
  if (bytes.empty()) co_return;
  auto& body = response_->message.body();
  body.data = const_cast<char*>(bytes.data());
  body.size = bytes.size();
  body.more = true;
  stream_.expires_after(io_timeout_);
  auto [error, written] = co_await http::async_write(stream_, response_->serializer, as_tuple(use_awaitable));
  if (error == http::error::need_buffer) error = {};
  if (error) throw boost::system::system_error(error);
}

asio::awaitable<void> StreamExchange::end_response() {
  if (!response_) throw std::logic_error("StreamExchange: begin_response first");
  auto& body = response_->message.body();
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  stream_.expires_after(io_timeout_);
  auto [error, written] = co_await http::async_write(stream_, response_->serializer, as_tuple(use_awaitable));
  if (error == http::error::need_buffer) error = {};
  if (error) throw boost::system::system_error(error);
  finished_ = true;
}

asio::awaitable<void> StreamExchange::respond_head(http::status status, std::uint64_t length, std::string content_type,
                                                   Headers headers) {
  if (response_) throw std::logic_error("StreamExchange: the response was already started");
  http::response<http::empty_body> message{status, parser_.get().version()};
  message.set(http::field::server, "idunno-console");
  message.set(http::field::content_type, content_type);
  message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : headers) message.set(name, value);
  message.keep_alive(parser_.get().keep_alive() && parser_.is_done());
  // Set by hand: the length of the body a GET would carry, none follows.
  message.set(http::field::content_length, std::to_string(length));
  http::response_serializer<http::empty_body> serializer{message};
  stream_.expires_after(io_timeout_);
  auto [error, bytes] = co_await http::async_write_header(stream_, serializer, as_tuple(use_awaitable));
  if (error) throw boost::system::system_error(error);
  finished_ = true;
}

asio::awaitable<void> StreamExchange::respond(http::status status, std::string body, std::string content_type,
                                              Headers headers) {
  co_await begin_response(status, body.size(), std::move(content_type), std::move(headers));
  co_await write_body(std::span<const char>(body.data(), body.size()));
  co_await end_response();
}

void StreamRoutes::add(std::string prefix, StreamHandler handler) {
  if (prefix.empty() || prefix.front() != '/') throw std::invalid_argument("a stream route starts with '/'");
  if (!handler) throw std::invalid_argument("a stream route needs a handler");
  routes_.emplace_back(std::move(prefix), std::move(handler));
}

const StreamHandler* StreamRoutes::find(const std::string& path) const {
  const StreamHandler* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [prefix, handler] : routes_) {
    const bool matches = prefix.back() == '/' ? path.starts_with(prefix) : path == prefix;
    if (matches && prefix.size() >= best_length) {
      best = &handler;
      best_length = prefix.size();
    }
  }
  return best;
}

}  // namespace idunno::net::console
