// Model metadata in TorchScript archives, and the results text format.
#include <gtest/gtest.h>

#include "ml/base/errors.hpp"
#include "ml/base/model_meta.hpp"
#include "ml/base/results.hpp"

namespace idunno::ml {
namespace {

template <typename Fn>
void expect_model_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected ModelError containing '" << needle << "'";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ModelMeta, RoundTripAndErrors) {
  ModelInfo info{"x", ModelSource::zoo, {3, 32, 32}, 7, {{0.1F, 0.2F, 0.3F}, {0.5F}}};
  const auto meta = decode_model_meta(encode_model_meta(info), "x");
  EXPECT_EQ(meta.input, info.input);
  EXPECT_EQ(meta.classes, 7);
  EXPECT_EQ(meta.normalization, info.normalization);
  expect_model_error([] { decode_model_meta("input=1,28\n", "m"); }, "C,H,W");
  expect_model_error([] { decode_model_meta("colour=blue\n", "m"); }, "unknown metadata key");
  expect_model_error([] { decode_model_meta("std=0\n", "m"); }, "positive");
}

TEST(Results, OneLinePerQueryWithSixDecimals) {
  const std::vector<Prediction> predictions{{0, 9, 0.98765432F}, {17, 0, 1.0F}, {12345678901, 3, 0.0000004F}};
  EXPECT_EQ(format_results(predictions), "0 9 0.987654\n17 0 1.000000\n12345678901 3 0.000000\n");
  std::string out = "x\n";
  append_results(out, {{1, 2, 0.5F}});
  EXPECT_EQ(out, "x\n1 2 0.500000\n");
  EXPECT_EQ(format_results({}), "");
}

}  // namespace
}  // namespace idunno::ml
