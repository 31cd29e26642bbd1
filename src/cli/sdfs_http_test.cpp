// The SDFS HTTP file API on a real console socket, over data nodes on a
// fake network and a namespace applied in place: PUT/GET/Range/HEAD/
// versions/listing/DELETE, the redirect to a replica's console, and the
// 4xx answers.

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <map>
#include <optional>

#include "cli/commands/command_table.hpp"
#include "cli/sdfs_service.hpp"
#include "fs/sdfs_test_cluster.hpp"
#include "net/console/console_server.hpp"
#include "net/console/console_test_support.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::console::testing::Headers;
using Response = http::response<http::string_body>;

asio::awaitable<std::string> apply_now(fs::Namespace* ns, raft::Index index, std::string command) {
  co_return ns->apply(index, command);
}
asio::awaitable<std::string> query_now(const fs::Namespace* ns, std::string query) { co_return ns->query(query); }

asio::awaitable<Response> request(core::HostPort address, http::verb verb, std::string target, std::string body,
                                  Headers headers) {
  beast::tcp_stream stream = co_await net::console::testing::tcp_connect(address);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, address.to_string());
  for (const auto& [name, value] : headers) req.set(name, value);
  if (verb == http::verb::put) {
    req.body() = body;
    req.prepare_payload();
  }
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  parser.body_limit(64 << 20);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

// A chunked PUT of `pieces`, one chunk each; with `cut`, the connection is
// closed after them instead of the last chunk (and there is no answer).
asio::awaitable<std::optional<Response>> chunked_put(core::HostPort address, std::string target,
                                                     std::vector<std::string> pieces, bool cut) {
  beast::tcp_stream stream = co_await net::console::testing::tcp_connect(address);
  http::request<http::empty_body> req{http::verb::put, target, 11};
  req.set(http::field::host, address.to_string());
  req.chunked(true);
  http::request_serializer<http::empty_body> serializer{req};
  co_await http::async_write_header(stream, serializer, asio::use_awaitable);
  for (const auto& piece : pieces) {
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(piece)), asio::use_awaitable);
  }
  if (cut) {
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both);
    stream.close();
    co_return std::nullopt;
  }
  co_await asio::async_write(stream, http::make_chunk_last(), asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

class SdfsHttpTest : public fs::test::DataNodeCluster {
 protected:
  void SetUp() override {
    make_cluster(5);
    fs::SdfsCluster cluster;
    cluster.submit = [this](std::string command, std::chrono::milliseconds) {
      return apply_now(&ns_, ++index_, std::move(command));
    };
    cluster.read = [this](std::string query, std::chrono::milliseconds) { return query_now(&ns_, std::move(query)); };
    cluster.local = &ns_;
    cluster.members = [this] {
      std::vector<fs::SdfsMember> out;
      for (const auto& n : nodes_) out.push_back({n->name, n->stream_address});
      return out;
    };
    fs::SdfsOptions options;
    options.self_name = node(0).name;
    sdfs_ = std::make_unique<fs::Sdfs>(executor(), cluster, *node(0).stream_client, *node(0).store, pool_,
                                       node(0).stats, options);
    auto routes = std::make_shared<net::console::StreamRoutes>();
    char dir[] = "/tmp/idunno-spool-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    spool_ = dir;
    add_sdfs_routes(*routes, *sdfs_, UploadSpool{&pool_, spool_}, [this](const std::string& node) {
      const auto it = consoles_.find(node);
      return it == consoles_.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
    console_ = std::make_unique<net::console::ConsoleServer>(
        executor(), core::HostPort{"127.0.0.1", 0},
        [](std::string, std::vector<std::string>) -> asio::awaitable<net::console::CommandOutcome> {
          co_return net::console::CommandOutcome::failure("no commands here");
        },
        nullptr, "", "no-such-page.html", net::console::ConsoleLimits{}, routes);
    console_->start();
    address_ = console_->local_address();
  }

  void TearDown() override {
    run(console_->stop(std::chrono::milliseconds(500)));
    DataNodeCluster::TearDown();
    std::filesystem::remove_all(spool_);
  }

  Response call(http::verb verb, std::string target, std::string body = {}, Headers headers = {}) {
    return run(request(address_, verb, std::move(target), std::move(body), std::move(headers)));
  }

  std::optional<Response> put_chunked(const std::string& target, const std::vector<std::string>& pieces, bool cut) {
    return run(chunked_put(address_, target, pieces, cut));
  }

  bool spool_empty() const { return std::filesystem::is_empty(spool_); }

  std::filesystem::path spool_;
  std::map<std::string, std::string> consoles_;  // what the console lookup knows
  fs::Namespace ns_;
  raft::Index index_ = 0;
  std::unique_ptr<fs::Sdfs> sdfs_;
  std::unique_ptr<net::console::ConsoleServer> console_;
  core::HostPort address_;
};

TEST_F(SdfsHttpTest, FilesGoInAndOutWithVersionsRangesAndHeaders) {
  const std::string first = net::testing::pattern(300'000);
  auto put = call(http::verb::put, "/v1/files/a%2Fb%20c", first);
  ASSERT_EQ(put.result(), http::status::created) << put.body();
  EXPECT_EQ(put.body(), R"({"name":"a/b c","version":1,"size":300000})");
  ASSERT_EQ(call(http::verb::put, "/v1/files/a%2Fb%20c", "two").result(), http::status::created);

  auto got = call(http::verb::get, "/v1/files/a%2Fb%20c");
  EXPECT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(got.body(), "two");
  EXPECT_EQ(got["X-Idunno-Version"], "2");
  EXPECT_FALSE(got[http::field::etag].empty());
  auto old = call(http::verb::get, "/v1/files/a%2Fb%20c?version=1");
  EXPECT_EQ(old.body(), first);

  auto range = call(http::verb::get, "/v1/files/a%2Fb%20c?version=1", {}, {{"Range", "bytes=1000-1099"}});
  EXPECT_EQ(range.result(), http::status::partial_content);
  EXPECT_EQ(range.body(), first.substr(1000, 100));
  EXPECT_EQ(range[http::field::content_range], "bytes 1000-1099/300000");
  auto suffix = call(http::verb::get, "/v1/files/a%2Fb%20c?version=1", {}, {{"Range", "bytes=-10"}});
  EXPECT_EQ(suffix.body(), first.substr(first.size() - 10));
  EXPECT_EQ(call(http::verb::get, "/v1/files/a%2Fb%20c", {}, {{"Range", "bytes=9-"}}).result(),
            http::status::range_not_satisfiable);

  auto head = call(http::verb::head, "/v1/files/a%2Fb%20c?version=1");
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(head[http::field::content_length], "300000");
  EXPECT_EQ(head["X-Idunno-Version"], "1");

  auto versions = call(http::verb::get, "/v1/files/a%2Fb%20c?versions=5");
  EXPECT_EQ(versions.body(),
            "==> a/b c version 2 (3 bytes) <==\ntwo\n==> a/b c version 1 (300000 bytes) <==\n" + first + "\n");

  auto listing = call(http::verb::get, "/v1/files?prefix=a%2F");
  EXPECT_EQ(listing.result(), http::status::ok);
  EXPECT_NE(listing.body().find(R"("name":"a/b c","version":2,"size":3,"replicas":[)"), std::string::npos)
      << listing.body();

  auto deleted = call(http::verb::delete_, "/v1/files/a%2Fb%20c");
  EXPECT_EQ(deleted.body(), R"({"name":"a/b c","deleted":true})");
  auto missing = call(http::verb::get, "/v1/files/a%2Fb%20c");
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_NE(missing.body().find("\"error\""), std::string::npos);
}

// curl -T - (a body of unknown length) sends it chunked: it is spooled,
// stored whole, and the spool is left empty.
TEST_F(SdfsHttpTest, AChunkedUploadIsStoredWhole) {
  const std::string body = net::testing::pattern(700'000);
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < body.size(); at += 65'536) pieces.push_back(body.substr(at, 65'536));
  auto put = put_chunked("/v1/files/streamed", pieces, false);
  ASSERT_TRUE(put);
  ASSERT_EQ(put->result(), http::status::created) << put->body();
  EXPECT_EQ(put->body(), R"({"name":"streamed","version":1,"size":700000})");
  EXPECT_EQ(call(http::verb::get, "/v1/files/streamed").body(), body);
  EXPECT_TRUE(spool_empty());

  auto empty = put_chunked("/v1/files/empty", {}, false);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->body(), R"({"name":"empty","version":1,"size":0})");

  auto bad = put_chunked("/v1/files/bad%00name", {"x"}, false);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->result(), http::status::bad_request);
}

// An upload cut off mid-body leaves no version and nothing in the spool.
TEST_F(SdfsHttpTest, AnInterruptedChunkedUploadLeavesNothing) {
  EXPECT_FALSE(put_chunked("/v1/files/cut", {std::string(100'000, 'a'), std::string(100'000, 'b')}, true));
  // The server sees the end of the connection; wait until it has closed it
  // (the upload's handler has finished) and its spool is empty again,
  // bounded. The spool alone is not enough: the upload's file is created on
  // the pool, so it may not exist yet when the client's side is done.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((console_->connection_count() > 0 || !spool_empty()) && std::chrono::steady_clock::now() < deadline) {
    run([]() -> asio::awaitable<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
      co_await timer.async_wait(asio::use_awaitable);
    }());
  }
  EXPECT_EQ(console_->connection_count(), 0u);
  EXPECT_TRUE(spool_empty());
  EXPECT_EQ(call(http::verb::get, "/v1/files/cut").result(), http::status::not_found);
}

// A GET that asks for it (the idunno client does) on a node holding no
// replica is sent to the console of the first replica whose console is
// known; every other request is served here.
TEST_F(SdfsHttpTest, AGetThatAsksIsRedirectedToAReplicasConsoleWhenThisNodeHoldsNone) {
  for (std::size_t i = 1; i < 5; ++i) consoles_[node(i).name] = "http://127.0.0.1:" + std::to_string(9000 + i);
  std::optional<fs::NamedVersion> elsewhere;
  std::optional<fs::NamedVersion> here;
  for (int i = 0; i < 40 && (!elsewhere || !here); ++i) {
    const std::string name = "dir/r" + std::to_string(i);
    ASSERT_EQ(call(http::verb::put, "/v1/files/dir%2Fr" + std::to_string(i), "bytes of " + name).result(),
              http::status::created);
    const fs::NamedVersion found = run(sdfs_->stat(name));
    const bool holds = std::ranges::find(found.entry.replicas, node(0).name) != found.entry.replicas.end();
    (holds ? here : elsewhere) = found;
  }
  ASSERT_TRUE(elsewhere && here) << "no name placed both with and without this node in 40 tries";
  const std::string target = "/v1/files/" + percent_encode(elsewhere->name);
  const Headers asking{{"X-Idunno-Redirect", "replica"}};

  auto redirected = call(http::verb::get, target, {}, asking);
  EXPECT_EQ(redirected.result(), http::status::temporary_redirect);
  const std::string first = consoles_[elsewhere->entry.replicas[0]];
  EXPECT_EQ(redirected[http::field::location], first + target + "?version=1");
  EXPECT_EQ(redirected["X-Idunno-Version"], "1");
  EXPECT_EQ(redirected.body(), R"({"redirect":")" + first + target + R"(?version=1"})");
  // A range read is sent on as it is: the client asks the replica for the range.
  auto ranged = call(http::verb::get, target, {}, {{"X-Idunno-Redirect", "replica"}, {"Range", "bytes=0-3"}});
  EXPECT_EQ(ranged.result(), http::status::temporary_redirect);
  EXPECT_EQ(ranged[http::field::content_range], "");

  // A replica whose console is not known (dead, or not asked yet) is skipped.
  consoles_.erase(elsewhere->entry.replicas[0]);
  EXPECT_EQ(call(http::verb::get, target, {}, asking)[http::field::location],
            consoles_[elsewhere->entry.replicas[1]] + target + "?version=1");
  consoles_.clear();
  auto unknown = call(http::verb::get, target, {}, asking);
  EXPECT_EQ(unknown.result(), http::status::ok);
  EXPECT_EQ(unknown.body(), "bytes of " + elsewhere->name);

  for (std::size_t i = 1; i < 5; ++i) consoles_[node(i).name] = "http://127.0.0.1:" + std::to_string(9000 + i);
  // Without the header, as curl asks, and for HEAD: the bytes and headers here.
  EXPECT_EQ(call(http::verb::get, target).body(), "bytes of " + elsewhere->name);
  EXPECT_EQ(call(http::verb::head, target, {}, asking).result(), http::status::ok);
  // A node holding a replica serves it itself.
  auto own = call(http::verb::get, "/v1/files/" + percent_encode(here->name), {}, asking);
  EXPECT_EQ(own.result(), http::status::ok);
  EXPECT_EQ(own.body(), "bytes of " + here->name);
}

TEST_F(SdfsHttpTest, BadRequestsGetClearErrors) {
  auto bad_name = call(http::verb::put, "/v1/files/bad%00name", "x");
  EXPECT_EQ(bad_name.result(), http::status::bad_request);
  EXPECT_NE(bad_name.body().find("\"error\""), std::string::npos);
  EXPECT_EQ(call(http::verb::get, "/v1/files/%ZZ").result(), http::status::bad_request);
  EXPECT_EQ(call(http::verb::get, "/v1/files/x?version=abc").result(), http::status::bad_request);
  EXPECT_EQ(call(http::verb::get, "/v1/files/nothing").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::post, "/v1/files/x").result(), http::status::method_not_allowed);
}

}  // namespace
}  // namespace idunno::cli
