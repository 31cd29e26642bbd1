// The SDFS HTTP file API on a real console socket, over data nodes on a
// fake network and a namespace applied in place: PUT/GET/Range/HEAD/
// versions/listing/DELETE, and the 4xx answers.

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

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
    add_sdfs_routes(*routes, *sdfs_);
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
  }

  Response call(http::verb verb, std::string target, std::string body = {}, Headers headers = {}) {
    return run(request(address_, verb, std::move(target), std::move(body), std::move(headers)));
  }

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
