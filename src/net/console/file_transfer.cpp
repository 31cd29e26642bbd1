#include "net/console/file_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string_view>
#include <stdexcept>
#include <vector>

#include "net/console/console_client.hpp"

namespace idunno::net::console {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr const char* kTempMarker = ".part-";
// How long a redirected download tries to connect to the replica's
// console, and waits for each read or write there.
constexpr std::chrono::milliseconds kReplicaConnectTimeout{1'000};
constexpr std::chrono::milliseconds kReplicaIoTimeout{10'000};

// A file descriptor closed when it goes.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

std::string host_header(const core::HostPort& node) {
  const bool ipv6 = node.host.find(':') != std::string::npos && node.host.front() != '[';
  return (ipv6 ? "[" + node.host + "]" : node.host) + ":" + std::to_string(node.port);
}

// Everything one transfer shares: the options, the connection, the node.
struct Transfer {
  core::HostPort node;
  std::string token;
  const TransferOptions* options;
  beast::tcp_stream* stream;
  beast::flat_buffer buffer;

  [[noreturn]] void lost(const std::string& what, const boost::system::error_code& error) const {
    throw ConsoleUnreachable("lost the connection to the node at " + node.to_string() + " while " + what + ": " +
                             error.message());
  }
  void progress(std::uint64_t done, std::optional<std::uint64_t> total) const {
    if (options->progress) options->progress(TransferProgress{done, total});
  }
  template <typename Message>
  void prepare(Message& message) const {
    message.set(http::field::host, host_header(node));
    message.set(http::field::user_agent, "idunno");
    if (!token.empty()) message.set(http::field::authorization, "Bearer " + token);
  }
};

asio::awaitable<void> connect(Transfer* t) {
  asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(t->node.host, std::to_string(t->node.port), as_tuple(use_awaitable));
  const std::string where = t->node.to_string();
  if (resolve_error) {
    throw ConsoleUnreachable("could not reach the node's console at " + where + ": cannot resolve the host (" +
                             resolve_error.message() + ")");
  }
  t->stream->expires_after(t->options->connect_timeout);
  auto [connect_error, endpoint] = co_await t->stream->async_connect(endpoints, as_tuple(use_awaitable));
  if (connect_error) {
    throw ConsoleUnreachable("could not reach the node's console at " + where + ": cannot connect (" +
                             connect_error.message() + "); is idunno-node running with --console " + where + "?");
  }
}

void check_auth(const Transfer& t, unsigned status, const std::string& body) {
  if (status == 401 || status == 403) {
    std::string text = body;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    throw ConsoleAuthError("the node at " + t.node.to_string() + " refused us: " + text);
  }
}

template <typename Fields>
std::map<std::string, std::string> headers_of(const Fields& fields) {
  std::map<std::string, std::string> out;
  for (const auto& field : fields) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name] = std::string(field.value());
  }
  return out;
}

// Reads a small response (an answer or an error) after a request.
asio::awaitable<TransferOutcome> read_reply(Transfer* t) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(t->options->max_reply_bytes);
  t->stream->expires_after(t->options->io_timeout);
  auto [error, bytes] = co_await http::async_read(*t->stream, t->buffer, parser, as_tuple(use_awaitable));
  if (error) t->lost("waiting for the answer", error);
  TransferOutcome out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  out.headers = headers_of(parser.get());
  check_auth(*t, out.status, out.body);
  co_return out;
}

asio::awaitable<TransferOutcome> upload(Transfer* t, std::string method, std::string target, int fd,
                                        std::uint64_t size) {
  co_await connect(t);
  http::request<http::buffer_body> request{http::string_to_verb(method), target, 11};
  t->prepare(request);
  request.set(http::field::content_type, "application/octet-stream");
  request.content_length(size);
  request.body().data = nullptr;
  request.body().more = true;
  http::request_serializer<http::buffer_body> serializer{request};
  t->stream->expires_after(t->options->io_timeout);
  auto [header_error, header_bytes] = co_await http::async_write_header(*t->stream, serializer, as_tuple(use_awaitable));
  if (header_error) t->lost("sending the request", header_error);
  std::vector<char> chunk(t->options->chunk_bytes);
  std::uint64_t sent = 0;
  bool write_failed = false;
  while (sent < size && !write_failed) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("cannot read the local file: " + errno_text());
    if (got == 0) throw std::runtime_error("the local file shrank while it was being sent");
    request.body().data = chunk.data();
    request.body().size = static_cast<std::size_t>(got);
    request.body().more = true;
    t->stream->expires_after(t->options->io_timeout);
    auto [error, written] = co_await http::async_write(*t->stream, serializer, as_tuple(use_awaitable));
    if (error == http::error::need_buffer) error = {};
    // The node may answer (and close) before it took the whole body, e.g.
    // a refusal: read what it said.
    if (error) write_failed = true;
    sent += static_cast<std::uint64_t>(got);
    t->progress(sent, size);
  }
  if (!write_failed) {
    request.body().data = nullptr;
    request.body().size = 0;
    request.body().more = false;
    t->stream->expires_after(t->options->io_timeout);
    auto [error, written] = co_await http::async_write(*t->stream, serializer, as_tuple(use_awaitable));
    if (error == http::error::need_buffer) error = {};
    write_failed = static_cast<bool>(error);
  }
  TransferOutcome out = co_await read_reply(t);
  out.bytes = sent;
  if (write_failed && out.ok()) {
    throw ConsoleUnreachable("the node at " + t->node.to_string() + " answered before it received the whole file");
  }
  co_return out;
}

void write_all(int fd, const char* data, std::size_t size) {
  for (std::size_t at = 0; at < size;) {
    const ssize_t put = ::write(fd, data + at, size - at);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw std::runtime_error("cannot write the local file: " + errno_text());
    at += static_cast<std::size_t>(put);
  }
}

// The `length` bytes of a body whose header was read: first what the
// header's read left in the buffer, then straight from the socket.
asio::awaitable<void> receive_exact(Transfer* t, std::uint64_t length, std::span<char> chunk, int fd,
                                    TransferOutcome* out) {
  const auto buffered = static_cast<std::size_t>(std::min<std::uint64_t>(t->buffer.size(), length));
  if (buffered > 0) {
    write_all(fd, static_cast<const char*>(t->buffer.data().data()), buffered);
    t->buffer.consume(buffered);
    out->bytes += buffered;
    t->progress(out->bytes, length);
  }
  while (out->bytes < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), length - out->bytes));
    t->stream->expires_after(t->options->io_timeout);
    auto [error, got] = co_await t->stream->async_read_some(asio::buffer(chunk.data(), want), as_tuple(use_awaitable));
    if (error) t->lost("receiving the file", error);
    write_all(fd, chunk.data(), got);
    out->bytes += got;
    t->progress(out->bytes, length);
  }
}

// GETs `target` into `fd`. With `ask_redirect` a 307 answer is returned
// as it is (its body unread), for the caller to follow.
asio::awaitable<TransferOutcome> download(Transfer* t, std::string target, int fd, bool ask_redirect) {
  co_await connect(t);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  t->prepare(request);
  if (ask_redirect) request.set("X-Idunno-Redirect", "replica");
  t->stream->expires_after(t->options->io_timeout);
  auto [write_error, written] = co_await http::async_write(*t->stream, request, as_tuple(use_awaitable));
  if (write_error) t->lost("sending the request", write_error);

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  t->stream->expires_after(t->options->io_timeout);
  auto [header_error, header_bytes] = co_await http::async_read_header(*t->stream, t->buffer, parser, as_tuple(use_awaitable));
  if (header_error) t->lost("waiting for the answer", header_error);
  TransferOutcome out;
  out.status = parser.get().result_int();
  out.headers = headers_of(parser.get());
  if (ask_redirect && out.status == 307) co_return out;
  const auto length = parser.content_length();
  const std::optional<std::uint64_t> total = length ? std::optional<std::uint64_t>(*length) : std::nullopt;
  std::vector<char> chunk(t->options->chunk_bytes);
  if (out.ok() && length && !parser.chunked()) {
    // A body of known length goes from the socket straight into `chunk`
    // and then to the file, not through the parser's buffer first (one
    // copy fewer of every byte).
    co_await receive_exact(t, *length, std::span<char>(chunk), fd, &out);
    co_return out;
  }
  // A read takes at most the buffer's free capacity (at least 512 bytes):
  // without room, a file would come in 512-byte reads.
  t->buffer.reserve(chunk.size());
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    t->stream->expires_after(t->options->io_timeout);
    auto [error, bytes] = co_await http::async_read_some(*t->stream, t->buffer, parser, as_tuple(use_awaitable));
    if (error == http::error::need_buffer) error = {};
    if (error) t->lost("receiving the file", error);
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (!out.ok()) {
      if (out.body.size() + got > t->options->max_reply_bytes) t->lost("reading an error answer", http::error::body_limit);
      out.body.append(chunk.data(), got);
      continue;
    }
    write_all(fd, chunk.data(), got);
    out.bytes += got;
    t->progress(out.bytes, total);
  }
  check_auth(*t, out.status, out.body);
  co_return out;
}

template <typename T>
T run_blocking(asio::io_context& io, asio::awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T result) {
    error = e;
    if (!e) value.emplace(std::move(result));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  if (!value) throw std::logic_error("the transfer ended without a result");
  return std::move(*value);
}

// Where a 307 points: "http://HOST:PORT/TARGET".
struct Location {
  core::HostPort node;
  std::string target;
};

std::optional<Location> parse_location(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto node = core::parse_host_port(std::string(url.substr(0, slash)));
  if (!node) return std::nullopt;
  return Location{std::move(*node), std::string(url.substr(slash))};
}

// One GET on its own connection and loop.
TransferOutcome get_once(const core::HostPort& node, const std::string& token, const std::string& target, int fd,
                         const TransferOptions& options, bool ask_redirect) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  Transfer transfer{node, token, &options, &stream, {}};
  return run_blocking(io, download(&transfer, target, fd, ask_redirect));
}

void rewind(int fd) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
    throw std::runtime_error("cannot rewrite the download: " + errno_text());
  }
}

// The download of `target` from `node`, through a replica's console when
// the options ask for it and the node points to one.
TransferOutcome get_from_replica_or_node(const core::HostPort& node, const std::string& token,
                                         const std::string& target, int fd, const TransferOptions& options) {
  TransferOutcome out = get_once(node, token, target, fd, options, options.via_replica);
  if (!options.via_replica || out.status != 307) return out;
  if (const auto location = parse_location(out.headers["location"])) {
    // A replica that crashed and is not declared dead yet must not hold the
    // download up for the whole connect timeout, nor one that stalls for
    // the whole I/O timeout: the node is right there.
    TransferOptions direct_options = options;
    direct_options.connect_timeout = std::min(options.connect_timeout, kReplicaConnectTimeout);
    direct_options.io_timeout = std::min(options.io_timeout, kReplicaIoTimeout);
    std::string why;
    try {
      TransferOutcome direct = get_once(location->node, token, location->target, fd, direct_options, false);
      // The same version (ETag) the node named, or nothing from there.
      if (direct.ok() && direct.headers["etag"] == out.headers["etag"]) return direct;
      why = direct.ok() ? "it served another version" : "it answered " + std::to_string(direct.status);
    } catch (const ConsoleError& e) {
      why = e.what();  // the replica's console is gone, refuses this token, or broke off
    }
    rewind(fd);
    TransferOutcome own = get_once(node, token, target, fd, options, false);
    own.fallback = "the replica's console at " + location->node.to_string() + " did not serve it: " + why;
    return own;
  }
  TransferOutcome own = get_once(node, token, target, fd, options, false);
  own.fallback = "the node sent us to '" + out.headers["location"] + "', which is not an http://HOST:PORT/ URL";
  return own;
}

}  // namespace

TransferOutcome upload_file(const core::HostPort& node, const std::string& token, const std::string& method,
                            const std::string& target, const fs::path& path, const TransferOptions& options) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot read " + path.string() + ": " + errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw std::runtime_error("cannot read " + path.string() + ": not a regular file");
  }
  asio::io_context io;
  beast::tcp_stream stream(io);
  Transfer transfer{node, token, &options, &stream, {}};
  return run_blocking(io, upload(&transfer, method, target, fd.get(), static_cast<std::uint64_t>(info.st_size)));
}

TransferOutcome download_file(const core::HostPort& node, const std::string& token, const std::string& target,
                              const fs::path& path, const TransferOptions& options) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string pattern = (dir / ("." + path.filename().string() + kTempMarker + "XXXXXX")).string();
  Fd fd(::mkstemp(pattern.data()));
  if (fd.get() < 0) throw std::runtime_error("cannot write " + path.string() + ": " + errno_text());
  const fs::path temp = pattern;
  // Removes the temporary file unless it became the destination.
  struct Cleanup {
    fs::path file;
    bool keep = false;
    ~Cleanup() {
      if (!keep) ::unlink(file.c_str());
    }
  } cleanup{temp};
  ::fchmod(fd.get(), 0644 & ~[] {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return mask;
  }());

  TransferOutcome out = get_from_replica_or_node(node, token, target, fd.get(), options);
  if (!out.ok()) return out;
  if (::fsync(fd.get()) != 0) throw std::runtime_error("cannot write " + path.string() + ": " + errno_text());
  if (::close(fd.release()) != 0) throw std::runtime_error("cannot write " + path.string() + ": " + errno_text());
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("cannot write " + path.string() + ": " + errno_text());
  }
  cleanup.keep = true;
  return out;
}

bool is_download_temp_file(const fs::path& candidate, const fs::path& destination) {
  const std::string name = candidate.filename().string();
  return name.starts_with("." + destination.filename().string() + kTempMarker);
}

}  // namespace idunno::net::console
