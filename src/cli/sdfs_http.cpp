// The HTTP file API of SDFS on the console (CONTRACT.md "The console"):
//   PUT    /v1/files/NAME              body -> 201 {"name","version","size"}
//   GET    /v1/files/NAME[?version=V]  200 bytes (Range: bytes=A-B -> 206);
//          with X-Idunno-Redirect: replica, on a node without a replica,
//          307 to a replica's console (the idunno client asks so)
//   GET    /v1/files/NAME?versions=N   the newest N versions, delimited
//   HEAD   /v1/files/NAME              the GET's headers
//   DELETE /v1/files/NAME              200 {"name","deleted":true}
//   GET    /v1/files[?prefix=P]        {"files":[...]}
// Bodies stream both ways in pieces (memory does not grow with the file);
// a PUT without Content-Length (chunked) is spooled to disk first, since a
// put must know its size (UploadSpool).
// A GET's status and headers go out with its first byte, so a file no
// replica can serve is an error status, never an empty 200; a failure
// after that cuts the connection (the client sees a truncated body).
// Access control (the console token) is the session's, before any route.

#include <boost/beast/http/status.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <optional>
#include <spdlog/spdlog.h>

#include "cli/commands/command_table.hpp"
#include "cli/sdfs_service.hpp"
#include "core/logging.hpp"
#include "fs/sdfs_local.hpp"
#include "fs/sdfs_name.hpp"
#include "net/console/http_access.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using net::console::StreamExchange;

namespace {

constexpr std::size_t kFilesPrefix = sizeof("/v1/files/") - 1;

std::optional<std::uint64_t> number(const std::string& text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [at, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || at != end || text.empty()) return std::nullopt;
  return value;
}

std::string error_body(const std::string& message) { return json::serialize(json::object{{"error", message}}); }

http::status status_of(fs::SdfsErrorKind kind) {
  switch (kind) {
    case fs::SdfsErrorKind::not_found: return http::status::not_found;
    case fs::SdfsErrorKind::bad_name:
    case fs::SdfsErrorKind::bad_request:
    case fs::SdfsErrorKind::failed: return http::status::bad_request;
    case fs::SdfsErrorKind::unavailable: return http::status::service_unavailable;
  }
  return http::status::internal_server_error;
}

struct Failure {
  http::status status = http::status::internal_server_error;
  std::string message;
};

StreamExchange::Headers version_headers(const fs::NamedVersion& found) {
  char etag[32];
  std::snprintf(etag, sizeof(etag), "\"%016llx\"", static_cast<unsigned long long>(found.entry.checksum));
  return {{"X-Idunno-Version", std::to_string(found.entry.version)}, {"ETag", etag}, {"Accept-Ranges", "bytes"}};
}

// "bytes=A-B", "bytes=A-" or "bytes=-N" against `size`: the range, or
// nullopt when it cannot be satisfied or is not one range.
std::optional<fs::ReadRange> parse_range(const std::string& header, std::uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string::npos) return std::nullopt;
  const std::string spec = header.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  const std::string first = spec.substr(0, dash);
  const std::string last = spec.substr(dash + 1);
  if (first.empty()) {
    const auto suffix = number(last);
    if (!suffix || *suffix == 0 || size == 0) return std::nullopt;
    const std::uint64_t length = std::min(*suffix, size);
    return fs::ReadRange{size - length, length};
  }
  const auto start = number(first);
  if (!start || *start >= size) return std::nullopt;
  if (last.empty()) return fs::ReadRange{*start, size - *start};
  const auto end = number(last);
  if (!end || *end < *start) return std::nullopt;
  return fs::ReadRange{*start, std::min(*end, size - 1) - *start + 1};
}

asio::awaitable<std::size_t> read_body_piece(StreamExchange* exchange, std::span<std::uint8_t> buffer) {
  auto reading = exchange->read_body(std::span<char>(reinterpret_cast<char*>(buffer.data()), buffer.size()));
  co_return co_await std::move(reading);
}

// A GET's answer, begun with its first byte.
struct Download {
  StreamExchange* exchange = nullptr;
  http::status status = http::status::ok;
  std::uint64_t length = 0;
  StreamExchange::Headers headers;
  bool begun = false;
};

asio::awaitable<void> send_piece(Download* download, std::span<const std::uint8_t> bytes) {
  if (!download->begun) {
    download->begun = true;
    auto beginning = download->exchange->begin_response(download->status, download->length, "application/octet-stream",
                                                        download->headers);
    co_await std::move(beginning);
  }
  auto writing = download->exchange->write_body(std::span(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  co_await std::move(writing);
}

fs::ByteSink sink_of(Download* download) {
  return [download](std::span<const std::uint8_t> bytes) { return send_piece(download, bytes); };
}

asio::awaitable<void> serve_listing(fs::Sdfs* sdfs, StreamExchange* exchange) {
  if (exchange->method() != http::verb::get) {
    {
      auto op = exchange->respond(http::status::method_not_allowed, error_body("the listing takes GET"));
      co_await std::move(op);
    }
    co_return;
  }
  const auto& query = exchange->target().query;
  const auto prefix = query.contains("prefix") ? query.at("prefix") : std::string();
  json::array files;
  std::optional<Failure> failure;
  try {
    auto listing = sdfs->list(prefix);
    const std::vector<fs::NamedVersion> found = co_await std::move(listing);
    for (const auto& v : found) files.push_back(version_json(v));
  } catch (const fs::SdfsError& e) {
    failure = Failure{status_of(e.kind()), e.what()};
  }
  if (failure) {
    {
      auto op = exchange->respond(failure->status, error_body(failure->message));
      co_await std::move(op);
    }
    co_return;
  }
  {
    auto op = exchange->respond(http::status::ok, json::serialize(json::object{{"files", std::move(files)}}));
    co_await std::move(op);
  }
}

// A body of unknown length (chunked) written whole to a file in the spool,
// returned as a source of known size; the file's name is unlinked at once
// (the source keeps it open), so nothing is left behind whatever happens
// next. A body cut short throws and leaves nothing either.
asio::awaitable<std::shared_ptr<fs::LocalFileSource>> spool_body(UploadSpool spool, StreamExchange* exchange,
                                                                 std::uint64_t serial) {
  const auto path = spool.dir / ("upload-" + std::to_string(serial));
  auto creating = fs::LocalFileSink::create(*spool.pool, path);
  auto sink = co_await std::move(creating);
  auto write = sink->sink();
  std::vector<std::uint8_t> buffer(256 * 1024);
  std::exception_ptr cut;
  try {
    for (;;) {
      auto reading = read_body_piece(exchange, buffer);
      const std::size_t got = co_await std::move(reading);
      if (got == 0) break;
      auto writing = write(std::span<const std::uint8_t>(buffer.data(), got));
      co_await std::move(writing);
    }
  } catch (...) {
    cut = std::current_exception();
  }
  if (cut) {
    auto discarding = sink->discard();
    co_await std::move(discarding);
    std::rethrow_exception(cut);
  }
  auto committing = sink->commit();
  co_await std::move(committing);
  auto opening = fs::LocalFileSource::open(*spool.pool, path);
  auto source = co_await std::move(opening);
  auto unlinking = spool.pool->run([path] {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  });
  co_await std::move(unlinking);
  co_return source;
}

asio::awaitable<void> serve_put(fs::Sdfs* sdfs, UploadSpool spool, std::uint64_t serial, StreamExchange* exchange,
                                std::string name) {
  const auto length = exchange->content_length();
  fs::PutResult result;
  std::optional<Failure> failure;
  try {
    if (length) {
      fs::ByteSource source = [exchange](std::span<std::uint8_t> buffer) { return read_body_piece(exchange, buffer); };
      auto putting = sdfs->put(std::move(source), *length, name);
      result = co_await std::move(putting);
    } else {
      // Check the name before taking the whole body in.
      if (auto bad = fs::sdfs_name_error(name)) throw fs::SdfsError(fs::SdfsErrorKind::bad_name, *bad);
      auto spooling = spool_body(spool, exchange, serial);
      auto spooled = co_await std::move(spooling);
      auto putting = sdfs->put(spooled->source(), spooled->size(), name);
      result = co_await std::move(putting);
    }
  } catch (const fs::SdfsError& e) {
    failure = Failure{status_of(e.kind()), e.what()};
  }
  if (failure) {
    {
      auto op = exchange->respond(failure->status, error_body(failure->message));
      co_await std::move(op);
    }
    co_return;
  }
  {
    auto op = exchange->respond(
        http::status::created,
        json::serialize(json::object{{"name", result.name}, {"version", result.version}, {"size", result.size}}));
    co_await std::move(op);
  }
}

asio::awaitable<void> serve_versions(fs::Sdfs* sdfs, StreamExchange* exchange, std::string name, std::uint64_t count) {
  std::vector<fs::NamedVersion> found;
  auto listing = sdfs->versions(name, static_cast<std::uint32_t>(std::min<std::uint64_t>(count, 1'000'000)));
  found = co_await std::move(listing);
  std::uint64_t total = 0;
  for (const auto& v : found) total += version_delimiter(v).size() + v.entry.size + 1;
  Download download{exchange, http::status::ok, total, {}, false};
  fs::ByteSink sink = sink_of(&download);
  for (const auto& v : found) {
    const std::string head = version_delimiter(v);
    auto head_sent = send_piece(&download, std::span(reinterpret_cast<const std::uint8_t*>(head.data()), head.size()));
    co_await std::move(head_sent);
    auto body = sdfs->read(v, fs::ReadRange{}, sink);
    co_await std::move(body);
    const std::uint8_t newline = '\n';
    auto newline_sent = send_piece(&download, std::span(&newline, 1));
    co_await std::move(newline_sent);
  }
  if (!download.begun) {
    auto op = exchange->begin_response(http::status::ok, 0, "application/octet-stream");
    co_await std::move(op);
  }
  {
    auto op = exchange->end_response();
    co_await std::move(op);
  }
}

// The console of a live replica of `found` to send a GET to, when the
// request asked for one and this node holds none: its bytes then go from
// that node's disk to the client with no hop through this node (the
// WebHDFS way). The replicas are tried in the order a read takes them.
std::optional<std::string> replica_console(const fs::Sdfs& sdfs, const ConsoleLookup& consoles,
                                           const StreamExchange& exchange, const fs::NamedVersion& found) {
  if (!consoles || exchange.method() != http::verb::get || exchange.header("X-Idunno-Redirect") != "replica") {
    return std::nullopt;
  }
  const auto& replicas = found.entry.replicas;
  if (std::ranges::find(replicas, sdfs.options().self_name) != replicas.end()) return std::nullopt;
  for (const auto& node : replicas) {
    if (auto url = consoles(node)) {
      spdlog::info("event=sdfs_get_redirect name={} version={} to={}", core::log_quote(found.name), found.entry.version,
                   node);
      return *url + "/v1/files/" + percent_encode(found.name) + "?version=" + std::to_string(found.entry.version);
    }
  }
  return std::nullopt;
}

asio::awaitable<void> serve_get(fs::Sdfs* sdfs, const ConsoleLookup* consoles, StreamExchange* exchange,
                                std::string name) {
  const auto& query = exchange->target().query;
  std::optional<std::uint64_t> version;
  if (query.contains("version")) {
    version = number(query.at("version"));
    if (!version || *version == 0) {
      {
        auto op = exchange->respond(http::status::bad_request, error_body("version must be a number (1, 2, ...)"));
        co_await std::move(op);
      }
      co_return;
    }
  }
  std::optional<std::uint64_t> versions;
  if (query.contains("versions")) {
    versions = number(query.at("versions"));
    if (!versions || *versions == 0) {
      {
        auto op = exchange->respond(http::status::bad_request, error_body("versions must be a count (1, 2, ...)"));
        co_await std::move(op);
      }
      co_return;
    }
  }
  std::optional<Failure> failure;
  Download download{exchange, http::status::ok, 0, {}, false};
  try {
    if (versions) {
      auto serving = serve_versions(sdfs, exchange, name, *versions);
      co_await std::move(serving);
      co_return;
    }
    auto looking = sdfs->stat(name, version);
    fs::NamedVersion found = co_await std::move(looking);
    download.headers = version_headers(found);
    std::uint64_t offset = 0;
    std::uint64_t length = found.entry.size;
    if (const std::string asked = exchange->header(http::field::range); !asked.empty()) {
      auto parsed = parse_range(asked, found.entry.size);
      if (!parsed) {
        failure = Failure{http::status::range_not_satisfiable, "the range '" + asked + "' does not fit the file (" +
                                                                   std::to_string(found.entry.size) + " bytes)"};
      } else {
        offset = parsed->offset;
        length = parsed->length.value_or(found.entry.size - offset);
        download.status = http::status::partial_content;
        const std::uint64_t last = offset + length - 1;
        download.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" + std::to_string(last) +
                                                           "/" + std::to_string(found.entry.size));
      }
    }
    if (!failure) {
      if (auto location = replica_console(*sdfs, *consoles, *exchange, found)) {
        auto headers = version_headers(found);  // the client checks the replica serves this version
        headers.emplace_back("Location", *location);
        {
          auto op = exchange->respond(http::status::temporary_redirect,
                                      json::serialize(json::object{{"redirect", *location}}), "application/json",
                                      std::move(headers));
          co_await std::move(op);
        }
        co_return;
      }
      download.length = length;
      if (exchange->method() == http::verb::head) {
        {
          auto op =
              exchange->respond_head(http::status::ok, found.entry.size, "application/octet-stream", download.headers);
          co_await std::move(op);
        }
        co_return;
      }
      auto reading = sdfs->read(found, fs::ReadRange{offset, length}, sink_of(&download));
      co_await std::move(reading);
    }
  } catch (const fs::SdfsError& e) {
    failure = Failure{status_of(e.kind()), e.what()};
  }
  if (failure) {
    // Mid-body there is no status left to send: cut the transfer.
    if (download.begun) throw std::runtime_error(failure->message);
    if (exchange->method() == http::verb::head) {
      {
        auto op = exchange->respond_head(failure->status, 0, "application/json");
        co_await std::move(op);
      }
    } else {
      {
        auto op = exchange->respond(failure->status, error_body(failure->message));
        co_await std::move(op);
      }
    }
    co_return;
  }
  if (!download.begun) {
    {
      auto op = exchange->begin_response(download.status, 0, "application/octet-stream", download.headers);
      co_await std::move(op);
    }
  }
  {
    auto op = exchange->end_response();
    co_await std::move(op);
  }
}

asio::awaitable<void> serve_delete(fs::Sdfs* sdfs, StreamExchange* exchange, std::string name) {
  std::optional<Failure> failure;
  try {
    {
      auto op = sdfs->remove(name);
      co_await std::move(op);
    }
  } catch (const fs::SdfsError& e) {
    failure = Failure{status_of(e.kind()), e.what()};
  }
  if (failure) {
    {
      auto op = exchange->respond(failure->status, error_body(failure->message));
      co_await std::move(op);
    }
    co_return;
  }
  {
    auto op = exchange->respond(http::status::ok, json::serialize(json::object{{"name", name}, {"deleted", true}}));
    co_await std::move(op);
  }
}

asio::awaitable<void> serve_file(fs::Sdfs* sdfs, const ConsoleLookup* consoles, UploadSpool spool, std::uint64_t serial,
                                 StreamExchange* exchange) {
  const std::string& path = exchange->target().path;
  auto name = net::console::percent_decode(path.substr(std::min(kFilesPrefix, path.size())));
  if (!name) {
    {
      auto op = exchange->respond(http::status::bad_request, error_body("the file name is not valid percent-encoding"));
      co_await std::move(op);
    }
    co_return;
  }
  if (name->empty()) {
    co_await serve_listing(sdfs, exchange);
    co_return;
  }
  switch (exchange->method()) {
    case http::verb::put: co_await serve_put(sdfs, std::move(spool), serial, exchange, *name); break;
    case http::verb::get:
    case http::verb::head: co_await serve_get(sdfs, consoles, exchange, *name); break;
    case http::verb::delete_: co_await serve_delete(sdfs, exchange, *name); break;
    default: {
      auto op = exchange->respond(http::status::method_not_allowed,
                                  error_body("/v1/files/NAME takes PUT, GET, HEAD or DELETE"));
      co_await std::move(op);
    }
  }
}

}  // namespace

void add_sdfs_routes(net::console::StreamRoutes& routes, fs::Sdfs& sdfs, UploadSpool spool, ConsoleLookup consoles) {
  routes.add("/v1/files", [sdfs = &sdfs](StreamExchange* exchange) { return serve_listing(sdfs, exchange); });
  routes.add("/v1/files/", [sdfs = &sdfs, consoles = std::make_shared<const ConsoleLookup>(std::move(consoles)),
                            spool = std::move(spool), uploads = std::uint64_t{0}](StreamExchange* exchange) mutable {
    return serve_file(sdfs, consoles.get(), spool, ++uploads, exchange);
  });
}

}  // namespace idunno::cli
