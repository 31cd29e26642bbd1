#pragma once
// One HTTP request on the console whose body and response are streamed:
// what a streaming route's handler reads from and writes to.
//
// Why: files (SDFS's PUT /v1/files/NAME, GET with Range) are far larger
// than memory should hold. The session reads only the request's header,
// then hands the connection to the route's handler through this object:
// read_body() gives the body a chunk at a time into the handler's buffer,
// begin_response()/write_body()/end_response() send the answer a chunk at a
// time (Content-Length when known, else chunked). Memory is the handler's
// buffer plus Beast's read buffer, whatever the size of the file. Each read
// and write is bounded by the console's HTTP timeout.
//
// Lives in the session's coroutine for one request; the handler gets a
// pointer and must not keep it. Event loop only.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "net/console/http_access.hpp"

namespace idunno::net::console {

class StreamExchange {
 public:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  StreamExchange(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer, Parser& parser,
                 RequestTarget target, std::chrono::milliseconds io_timeout);
  ~StreamExchange();
  StreamExchange(const StreamExchange&) = delete;
  StreamExchange& operator=(const StreamExchange&) = delete;

  boost::beast::http::verb method() const { return parser_.get().method(); }
  // The path (undecoded, e.g. "/v1/files/a%20b") and the decoded query.
  const RequestTarget& target() const { return target_; }
  std::string header(boost::beast::http::field field) const;
  std::string header(std::string_view name) const;  // one Beast has no field for
  std::optional<std::uint64_t> content_length() const {
    const auto length = parser_.content_length();
    return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
  }

  // Reads the next part of the request body into `buffer`; 0 once it has
  // all been read. Throws boost::system::system_error when the connection
  // breaks or times out.
  boost::asio::awaitable<std::size_t> read_body(std::span<char> buffer);
  bool body_done() const { return parser_.is_done(); }

  // Sends the status and headers; `length` bytes of body follow (nullopt:
  // chunked, any length). Call once.
  boost::asio::awaitable<void> begin_response(boost::beast::http::status status, std::optional<std::uint64_t> length,
                                              std::string content_type, Headers headers = {});
  boost::asio::awaitable<void> write_body(std::span<const char> bytes);
  boost::asio::awaitable<void> end_response();
  // The answer to a HEAD request: the status and headers, with
  // Content-Length `length`, and no body. Call instead of begin_response.
  boost::asio::awaitable<void> respond_head(boost::beast::http::status status, std::uint64_t length,
                                            std::string content_type, Headers headers = {});
  // A whole small response ({"error": ...}, a JSON result).
  boost::asio::awaitable<void> respond(boost::beast::http::status status, std::string body,
                                       std::string content_type = "application/json", Headers headers = {});

  bool responded() const { return finished_; }
  bool response_started() const { return static_cast<bool>(response_) || finished_; }
  // Whether the connection can carry another request afterwards.
  bool reusable() const { return finished_ && parser_.is_done() && parser_.get().keep_alive(); }

 private:
  struct Response;

  boost::beast::tcp_stream& stream_;
  boost::beast::flat_buffer& buffer_;
  Parser& parser_;
  RequestTarget target_;
  std::chrono::milliseconds io_timeout_;
  bool continue_sent_ = false;
  bool finished_ = false;
  std::unique_ptr<Response> response_;
};

// A streaming route's handler. It answers every request it is given
// (a method it does not serve gets 405 from it); if it returns without
// answering, the session answers 500; if it throws after starting the
// answer, the connection is closed mid-body (the client sees a truncated
// transfer, never a short file passed off as whole).
using StreamHandler = std::function<boost::asio::awaitable<void>(StreamExchange* exchange)>;

// Streaming routes by path prefix; registered before the console starts,
// read-only afterwards. Event loop only.
class StreamRoutes {
 public:
  // `prefix` such as "/v1/files/" (matches "/v1/files/x") or an exact
  // path; the longest matching prefix wins.
  void add(std::string prefix, StreamHandler handler);
  const StreamHandler* find(const std::string& path) const;
  bool empty() const { return routes_.empty(); }

 private:
  std::vector<std::pair<std::string, StreamHandler>> routes_;
};

}  // namespace idunno::net::console
