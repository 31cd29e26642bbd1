// The /v2 routes on a real console socket over a fake backend: every
// endpoint, every refusal as {"error": ...} with its 4xx status, and the
// console serving on after each.

#include "cli/online_http.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "net/console/console_server.hpp"
#include "net/console/console_test_support.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using net::console::testing::Headers;
using Response = http::response<http::string_body>;

// One model "m" (1x2x2, 3 classes); its scores are the request's values
// summed per image, then 0 and 1.
class FakeBackend final : public OnlineBackend {
 public:
  bool ready() const override { return ready_; }
  std::size_t max_body_bytes() const override { return 4096; }
  asio::awaitable<OnlineModel> model(std::string name, std::string version) override {
    if (name != "m" && name != "models/a") throw oip::OipError(404, "unknown model '" + name + "'");
    if (!version.empty() && version != "1") throw oip::OipError(404, "no version " + version);
    co_return OnlineModel{info(name), "1"};
  }
  asio::awaitable<OnlineScores> infer(std::string name, std::string version, oip::InputTensor input) override {
    const OnlineModel found = co_await model(name, version);
    oip::check_input(input, found.info);
    OnlineScores out{"1", 3, {}};
    const auto images = static_cast<std::size_t>(input.shape[0]);
    for (std::size_t i = 0; i < images; ++i) {
      float sum = 0;
      for (std::size_t k = 0; k < 4; ++k) sum += input.values[4 * i + k];
      out.probabilities.insert(out.probabilities.end(), {sum, 0.0F, 1.0F});
    }
    ++inferred;
    co_return out;
  }
  static ml::ModelInfo info(const std::string& name) {
    ml::ModelInfo i;
    i.name = name;
    i.source = ml::ModelSource::zoo;
    i.input = {1, 2, 2};
    i.classes = 3;
    return i;
  }
  bool ready_ = true;
  int inferred = 0;
};

asio::awaitable<Response> request(core::HostPort address, http::verb verb, std::string target, std::string body,
                                  Headers headers, bool chunked) {
  beast::tcp_stream stream = co_await net::console::testing::tcp_connect(address);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, address.to_string());
  for (const auto& [name, value] : headers) req.set(name, value);
  if (verb == http::verb::post) {
    req.body() = body;
    req.prepare_payload();
    if (chunked) req.chunked(true);
  }
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

class OnlineHttpTest : public net::testing::CoroutineTest {
 protected:
  void start(std::string token = "") {
    auto routes = std::make_shared<net::console::StreamRoutes>();
    add_online_routes(*routes, backend_);
    console_ = std::make_unique<net::console::ConsoleServer>(
        executor(), core::HostPort{"127.0.0.1", 0},
        [](std::string, std::vector<std::string>) -> asio::awaitable<net::console::CommandOutcome> {
          co_return net::console::CommandOutcome::failure("no commands here");
        },
        nullptr, std::move(token), "no-such-page.html", net::console::ConsoleLimits{}, routes);
    console_->start();
    address_ = console_->local_address();
  }
  void TearDown() override {
    if (console_) run(console_->stop(std::chrono::milliseconds(500)));
  }
  Response call(http::verb verb, std::string target, std::string body = {}, Headers headers = {},
                bool chunked = false) {
    return run(request(address_, verb, std::move(target), std::move(body), std::move(headers), chunked));
  }
  // An error answer: the status, a JSON body {"error": "..."} naming `words`.
  void expect_error(const Response& r, http::status status, const std::string& words) {
    EXPECT_EQ(r.result(), status) << r.body();
    EXPECT_EQ(r[http::field::content_type], "application/json");
    boost::system::error_code ec;
    const json::value v = json::parse(r.body(), ec);
    ASSERT_FALSE(ec) << r.body();
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error")) << r.body();
    EXPECT_NE(std::string(v.at("error").as_string()).find(words), std::string::npos) << r.body();
  }

  FakeBackend backend_;
  std::unique_ptr<net::console::ConsoleServer> console_;
  core::HostPort address_;
};

const std::string kGood =
    R"({"id":"q","inputs":[{"name":"input","shape":[2,1,2,2],"datatype":"UINT8","data":[1,2,3,4,10,20,30,40]}]})";

TEST_F(OnlineHttpTest, ServesEveryEndpoint) {
  start();
  auto live = call(http::verb::get, "/v2/health/live");
  EXPECT_EQ(live.result(), http::status::ok);
  EXPECT_EQ(live.body(), "");
  EXPECT_EQ(call(http::verb::get, "/v2/health/ready").result(), http::status::ok);
  auto server = call(http::verb::get, "/v2");
  EXPECT_EQ(server.result(), http::status::ok);
  EXPECT_EQ(json::parse(server.body()).at("name").as_string(), "idunno");
  EXPECT_EQ(call(http::verb::get, "/v2/").result(), http::status::ok);

  auto meta = call(http::verb::get, "/v2/models/m");
  ASSERT_EQ(meta.result(), http::status::ok) << meta.body();
  const json::value m = json::parse(meta.body());
  EXPECT_EQ(m.at("name").as_string(), "m");
  EXPECT_EQ(json::serialize(m.at("inputs").at(0).at("shape")), "[-1,1,2,2]");
  EXPECT_EQ(json::serialize(m.at("outputs").at(0).at("shape")), "[-1,3]");
  EXPECT_EQ(call(http::verb::get, "/v2/models/models%2Fa").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/v2/models/m/versions/1").result(), http::status::ok);
  auto ready = call(http::verb::get, "/v2/models/m/ready");
  EXPECT_EQ(ready.result(), http::status::ok);
  EXPECT_EQ(ready.body(), "");

  auto infer = call(http::verb::post, "/v2/models/m/infer", kGood, {{"Content-Type", "application/json"}});
  ASSERT_EQ(infer.result(), http::status::ok) << infer.body();
  const json::value out = json::parse(infer.body());
  EXPECT_EQ(out.at("model_name").as_string(), "m");
  EXPECT_EQ(out.at("id").as_string(), "q");
  const auto& scores = out.at("outputs").at(0);
  EXPECT_EQ(scores.at("name").as_string(), "scores");
  EXPECT_EQ(json::serialize(scores.at("shape")), "[2,3]");
  EXPECT_EQ(scores.at("data").at(0).to_number<double>(), 10.0);
  EXPECT_EQ(scores.at("data").at(3).to_number<double>(), 100.0);
  auto chunked = call(http::verb::post, "/v2/models/models%2Fa/versions/1/infer", kGood, {}, true);
  EXPECT_EQ(chunked.result(), http::status::ok) << chunked.body();
  EXPECT_EQ(backend_.inferred, 2);
}

TEST_F(OnlineHttpTest, RefusesBadRequestsWithJsonErrorsAndKeepsServing) {
  start();
  expect_error(call(http::verb::get, "/v2/models/nothing"), http::status::not_found, "unknown model");
  expect_error(call(http::verb::get, "/v2/models/nothing/ready"), http::status::not_found, "unknown model");
  expect_error(call(http::verb::post, "/v2/models/nothing/infer", kGood), http::status::not_found, "unknown model");
  expect_error(call(http::verb::get, "/v2/models/m/versions/7"), http::status::not_found, "no version 7");
  expect_error(call(http::verb::get, "/v2/models/m/explain"), http::status::not_found, "no such");
  expect_error(call(http::verb::get, "/v2/models/%ZZ"), http::status::bad_request, "percent-encoding");
  expect_error(call(http::verb::get, "/v2/models/m/infer"), http::status::method_not_allowed, "POST");
  expect_error(call(http::verb::post, "/v2/models/m", "{}"), http::status::method_not_allowed, "GET");
  expect_error(call(http::verb::post, "/v2/models/m/infer", "{\"inputs\":[1,2"), http::status::bad_request,
               "not valid JSON");
  expect_error(call(http::verb::post, "/v2/models/m/infer",
                    R"({"inputs":[{"name":"input","shape":[1,1,3,3],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9]}]})"),
               http::status::bad_request, "[B,1,2,2]");
  expect_error(call(http::verb::post, "/v2/models/m/infer",
                    R"({"inputs":[{"name":"input","shape":[1,1,2,2],"datatype":"BYTES","data":["a","b","c","d"]}]})"),
               http::status::bad_request, "unsupported datatype");
  const std::string huge(5000, ' ');
  expect_error(call(http::verb::post, "/v2/models/m/infer", huge), http::status::payload_too_large, "limit of 4096");
  expect_error(call(http::verb::post, "/v2/models/m/infer", huge, {}, true), http::status::payload_too_large,
               "limit of 4096");
  backend_.ready_ = false;
  expect_error(call(http::verb::get, "/v2/health/ready"), http::status::service_unavailable, "can run models");
  backend_.ready_ = true;
  EXPECT_EQ(call(http::verb::post, "/v2/models/m/infer", kGood).result(), http::status::ok);
  EXPECT_EQ(backend_.inferred, 1);
}

TEST_F(OnlineHttpTest, ATokenConsoleRefusesRequestsWithoutItInJson) {
  start("s3cret");
  expect_error(call(http::verb::get, "/v2/health/live"), http::status::unauthorized, "requires a token");
  expect_error(call(http::verb::post, "/v2/models/m/infer", kGood, {{"Authorization", "Bearer nope"}}),
               http::status::unauthorized, "wrong console token");
  EXPECT_EQ(call(http::verb::post, "/v2/models/m/infer", kGood, {{"Authorization", "Bearer s3cret"}}).result(),
            http::status::ok);
  EXPECT_EQ(backend_.inferred, 1);
}

}  // namespace
}  // namespace idunno::cli
