// The Open Inference Protocol messages: what a request may hold, what is
// refused and why, the preprocessing jobs use, and the answers' JSON.

#include "cli/oip_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace idunno::cli::oip {
namespace {

namespace json = boost::json;

ml::ModelInfo lenet_like() {
  ml::ModelInfo info;
  info.name = "m";
  info.source = ml::ModelSource::zoo;
  info.input = {1, 2, 3};
  info.classes = 4;
  info.normalization.mean = {0.25F};
  info.normalization.std = {0.5F};
  return info;
}

unsigned status_of(const std::string& body) {
  try {
    parse_infer_request(body, 1000);
  } catch (const OipError& e) {
    return e.status();
  }
  return 0;
}

std::string message_of(const std::string& body) {
  try {
    parse_infer_request(body, 1000);
  } catch (const OipError& e) {
    return e.what();
  }
  return "";
}

TEST(OipCodec, ParsesFlatAndNestedTensors) {
  const auto flat = parse_infer_request(
      R"({"id":"r1","inputs":[{"name":"input","shape":[1,1,2,3],"datatype":"UINT8","data":[0,1,2,3,4,255]}],)"
      R"("outputs":[{"name":"scores"}]})",
      1000);
  EXPECT_EQ(flat.id, "r1");
  EXPECT_EQ(flat.input.datatype, DataType::uint8);
  EXPECT_EQ(flat.input.shape, (std::vector<std::int64_t>{1, 1, 2, 3}));
  EXPECT_EQ(flat.input.values, (std::vector<float>{0, 1, 2, 3, 4, 255}));
  const auto nested = parse_infer_request(
      R"({"inputs":[{"name":"input","shape":[1,1,2,3],"datatype":"FP32","data":[[[[0.5,1],[2]],[[3,4,5]]]]}]})", 1000);
  EXPECT_FALSE(nested.id);
  EXPECT_EQ(nested.input.datatype, DataType::fp32);
  EXPECT_EQ(nested.input.values, (std::vector<float>{0.5F, 1, 2, 3, 4, 5}));
}

TEST(OipCodec, RefusesBadRequestsWithReasons) {
  EXPECT_EQ(status_of("{not json"), 400u);
  EXPECT_NE(message_of("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(status_of("[1,2]"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[]})"), 400u);
  EXPECT_NE(message_of(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})").find("unknown input"),
            std::string::npos);
  EXPECT_NE(message_of(R"({"inputs":[{"name":"input","shape":[1],"datatype":"INT64","data":[1]}]})")
                .find("unsupported datatype"),
            std::string::npos);
  EXPECT_NE(message_of(R"({"inputs":[{"name":"input","shape":[2],"datatype":"FP32","data":[1]}]})")
                .find("holds 2 values, the data has 1"),
            std::string::npos);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[1],"datatype":"UINT8","data":[256]}]})"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[1],"datatype":"UINT8","data":[1.5]}]})"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":["a"]}]})"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[-1],"datatype":"FP32","data":[1]}]})"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[100000],"datatype":"FP32","data":[1]}]})"), 400u);
  EXPECT_EQ(status_of(R"({"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}],)"
                      R"("outputs":[{"name":"logits"}]})"),
            400u);
  EXPECT_EQ(status_of(R"({"id":7,"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}]})"), 400u);
}

TEST(OipCodec, ChecksTheShapeAgainstTheModel) {
  InputTensor t{DataType::fp32, {2, 1, 2, 3}, std::vector<float>(12, 0.0F)};
  EXPECT_NO_THROW(check_input(t, lenet_like()));
  t.shape = {2, 1, 3, 2};
  try {
    check_input(t, lenet_like());
    FAIL() << "expected OipError";
  } catch (const OipError& e) {
    EXPECT_EQ(e.status(), 400u);
    EXPECT_NE(std::string(e.what()).find("[B,1,2,3]"), std::string::npos) << e.what();
  }
  t.shape = {12};
  EXPECT_THROW(check_input(t, lenet_like()), OipError);
  EXPECT_FALSE(sample_shape(t));
}

// UINT8 pixels become exactly the floats an inference job gives the model;
// FP32 pixel / 255 the same within float rounding.
TEST(OipCodec, PreprocessesAsInferenceJobsDo) {
  const ml::ModelInfo model = lenet_like();
  const std::vector<std::uint8_t> pixels{0, 17, 128, 200, 254, 255, 3, 9, 27, 81, 243, 1};
  InputTensor u8{DataType::uint8, {2, 1, 2, 3}, {}};
  InputTensor f32{DataType::fp32, {2, 1, 2, 3}, {}};
  for (auto p : pixels) {
    u8.values.push_back(p);
    f32.values.push_back(static_cast<float>(p) / 255.0F);
  }
  const ml::Batch from_u8 = to_batch(u8, model);
  const ml::Batch from_f32 = to_batch(f32, model);
  ASSERT_EQ(from_u8.size(), 2u);
  ASSERT_EQ(from_u8.values.size(), 12u);
  for (std::size_t i = 0; i < 2; ++i) {
    ml::Image image{model.input, std::vector<std::uint8_t>(pixels.begin() + 6 * i, pixels.begin() + 6 * (i + 1))};
    std::vector<float> expected(6);
    ml::preprocess(image, model.input, model.normalization, expected.data());
    for (std::size_t k = 0; k < 6; ++k) {
      EXPECT_EQ(from_u8.values[6 * i + k], expected[k]);
      EXPECT_NEAR(from_f32.values[6 * i + k], expected[k], 1e-5);
    }
  }
}

TEST(OipCodec, WritesAnswersInTheProtocolsShape) {
  const std::string body = infer_response("models/a", "3", std::string("r1"), 2, {0.25F, 0.75F, 1.0F, 0.0F});
  const json::value v = json::parse(body);
  EXPECT_EQ(v.at("model_name").as_string(), "models/a");
  EXPECT_EQ(v.at("model_version").as_string(), "3");
  EXPECT_EQ(v.at("id").as_string(), "r1");
  const auto& out = v.at("outputs").as_array().at(0).as_object();
  EXPECT_EQ(out.at("name").as_string(), "scores");
  EXPECT_EQ(out.at("datatype").as_string(), "FP32");
  EXPECT_EQ(json::serialize(out.at("shape")), "[2,2]");
  EXPECT_EQ(json::serialize(out.at("data")), "[2.5E-1,7.5E-1,1,0]");
  EXPECT_THROW(infer_response("m", "1", std::nullopt, 1, {std::nanf("")}), OipError);

  const json::value meta = json::parse(model_metadata(lenet_like(), "m", "1"));
  EXPECT_EQ(json::serialize(meta.at("inputs").at(0)), R"({"name":"input","datatype":"FP32","shape":[-1,1,2,3]})");
  EXPECT_EQ(json::serialize(meta.at("outputs").at(0)), R"({"name":"scores","datatype":"FP32","shape":[-1,4]})");
  EXPECT_EQ(json::serialize(meta.at("versions")), R"(["1"])");
  EXPECT_EQ(json::parse(server_metadata()).at("name").as_string(), "idunno");
  EXPECT_EQ(error_body("no \"x\""), R"({"error":"no \"x\""})");
}

TEST(OipCodec, ParsesPaths) {
  EXPECT_EQ(parse_target_path("/v2").kind, Target::Kind::server);
  EXPECT_EQ(parse_target_path("/v2/").kind, Target::Kind::server);
  EXPECT_EQ(parse_target_path("/v2/health/live").kind, Target::Kind::live);
  EXPECT_EQ(parse_target_path("/v2/health/ready").kind, Target::Kind::ready);
  const Target infer = parse_target_path("/v2/models/models%2Fa%20b/infer");
  EXPECT_EQ(infer.kind, Target::Kind::infer);
  EXPECT_EQ(infer.model, "models/a b");
  EXPECT_EQ(infer.version, "");
  const Target versioned = parse_target_path("/v2/models/lenet/versions/1/ready");
  EXPECT_EQ(versioned.kind, Target::Kind::model_ready);
  EXPECT_EQ(versioned.version, "1");
  EXPECT_EQ(parse_target_path("/v2/models/lenet").kind, Target::Kind::model);
  EXPECT_EQ(parse_target_path("/v2/models/lenet/versions/2").version, "2");
  EXPECT_EQ(parse_target_path("/v2/models/").kind, Target::Kind::unknown);
  EXPECT_EQ(parse_target_path("/v2/models/lenet/explain").kind, Target::Kind::unknown);
  EXPECT_EQ(parse_target_path("/v2/repository").kind, Target::Kind::unknown);
  EXPECT_THROW(parse_target_path("/v2/models/%ZZ/infer"), OipError);
}

}  // namespace
}  // namespace idunno::cli::oip
