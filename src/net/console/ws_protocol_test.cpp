#include "net/console/ws_protocol.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace idunno::net::console {
namespace {

namespace json = boost::json;

WsBadRequest bad(std::string_view frame) {
  auto parsed = parse_request(frame);
  EXPECT_TRUE(std::holds_alternative<WsBadRequest>(parsed)) << frame;
  return std::holds_alternative<WsBadRequest>(parsed) ? std::get<WsBadRequest>(parsed) : WsBadRequest{};
}

TEST(WsProtocol, ParsesARequestWithIdCmdAndArgs) {
  auto parsed = parse_request(R"({"id":7,"cmd":"put","args":["a.txt","data/a"]})");
  ASSERT_TRUE(std::holds_alternative<WsRequest>(parsed));
  const auto& request = std::get<WsRequest>(parsed);
  EXPECT_EQ(request.id, json::value(7));
  EXPECT_EQ(request.cmd, "put");
  EXPECT_EQ(request.args, (std::vector<std::string>{"a.txt", "data/a"}));
}

TEST(WsProtocol, ArgsAndIdAreOptional) {
  auto parsed = parse_request(R"({"cmd":"list_mem"})");
  ASSERT_TRUE(std::holds_alternative<WsRequest>(parsed));
  EXPECT_TRUE(std::get<WsRequest>(parsed).id.is_null());
  EXPECT_TRUE(std::get<WsRequest>(parsed).args.empty());
}

TEST(WsProtocol, StringIdsAreEchoedVerbatim) {
  auto parsed = parse_request(R"({"id":"req-1","cmd":"help"})");
  ASSERT_TRUE(std::holds_alternative<WsRequest>(parsed));
  EXPECT_EQ(reply_frame(std::get<WsRequest>(parsed).id, CommandOutcome::success(1)),
            R"({"id":"req-1","ok":true,"result":1})");
}

TEST(WsProtocol, MalformedFramesGetAReasonAndTheIdWhenKnown) {
  EXPECT_TRUE(bad("not json").id.is_null());
  EXPECT_NE(bad("not json").error.find("not valid JSON"), std::string::npos);
  EXPECT_NE(bad("[1,2]").error.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(bad(R"({"id":3})").id, json::value(3));
  EXPECT_NE(bad(R"({"id":3})").error.find("missing \"cmd\""), std::string::npos);
  EXPECT_NE(bad(R"({"id":4,"cmd":5})").error.find("\"cmd\" must be a string"), std::string::npos);
  EXPECT_NE(bad(R"({"id":5,"cmd":""})").error.find("empty"), std::string::npos);
  EXPECT_NE(bad(R"({"id":6,"cmd":"x","args":"a"})").error.find("array of strings"), std::string::npos);
  EXPECT_NE(bad(R"({"id":6,"cmd":"x","args":["a",1]})").error.find("array of strings"), std::string::npos);
  // Every reason shows what a good request looks like.
  EXPECT_NE(bad("{}").error.find(R"({"id":1,"cmd":"help","args":[]})"), std::string::npos);
}

TEST(WsProtocol, RepliesAndEventsAreSpelledAsTheContractSays) {
  EXPECT_EQ(reply_frame(1, CommandOutcome::success(json::object{{"jobs", json::array{}}})),
            R"({"id":1,"ok":true,"result":{"jobs":[]}})");
  EXPECT_EQ(reply_frame(2, CommandOutcome::failure("no such job")), R"({"id":2,"ok":false,"error":"no such job"})");
  EXPECT_EQ(error_frame(nullptr, "bad"), R"({"id":null,"ok":false,"error":"bad"})");
  EXPECT_EQ(event_frame(json::object{{"type", "member"}, {"ts_ms", 5}}), R"({"event":{"type":"member","ts_ms":5}})");
  EXPECT_EQ(request_frame(9, "echo", {"a", "b"}), R"({"id":9,"cmd":"echo","args":["a","b"]})");
}

TEST(WsProtocol, ClientClassifiesServerFrames) {
  auto reply = parse_server_frame(R"({"id":1,"ok":true,"result":{"x":1}})");
  ASSERT_TRUE(std::holds_alternative<WsReply>(reply));
  EXPECT_TRUE(std::get<WsReply>(reply).outcome.ok);
  EXPECT_EQ(std::get<WsReply>(reply).outcome.result, (json::value{{"x", 1}}));
  EXPECT_EQ(std::get<WsReply>(reply).raw, json::parse(R"({"id":1,"ok":true,"result":{"x":1}})"));

  auto failure = parse_server_frame(R"({"id":2,"ok":false,"error":"nope"})");
  ASSERT_TRUE(std::holds_alternative<WsReply>(failure));
  EXPECT_FALSE(std::get<WsReply>(failure).outcome.ok);
  EXPECT_EQ(std::get<WsReply>(failure).outcome.error, "nope");

  auto event = parse_server_frame(R"({"event":{"type":"rate","ts_ms":1}})");
  ASSERT_TRUE(std::holds_alternative<WsEvent>(event));
  EXPECT_EQ(std::get<WsEvent>(event).data, json::parse(R"({"type":"rate","ts_ms":1})"));
  EXPECT_TRUE(std::holds_alternative<WsUnreadable>(parse_server_frame(R"({"event":"events"})")));

  EXPECT_TRUE(std::holds_alternative<WsUnreadable>(parse_server_frame("nope")));
  EXPECT_TRUE(std::holds_alternative<WsUnreadable>(parse_server_frame(R"({"id":1})")));
}

}  // namespace
}  // namespace idunno::net::console
