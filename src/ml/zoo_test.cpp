// Zoo models: shapes, determinism from the seed, save -> load round trip.
#include <gtest/gtest.h>

#include <random>

#include "ml/base/batch.hpp"
#include "ml/base/errors.hpp"
#include "ml/inference.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

Batch random_batch(const ImageShape& shape, std::size_t n, std::uint32_t seed) {
  Batch batch;
  batch.shape = shape;
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  batch.values.resize(n * static_cast<std::size_t>(shape.elements()));
  for (auto& v : batch.values) v = dist(rng);
  for (std::size_t i = 0; i < n; ++i) {
    batch.indices.push_back(static_cast<std::int64_t>(i));
    batch.labels.push_back(-1);
  }
  return batch;
}

TEST(Zoo, ListsTheThreeModelsWithShapes) {
  const auto models = zoo_models();
  ASSERT_EQ(models.size(), 3U);
  EXPECT_EQ(models[0].name, "lenet");
  EXPECT_EQ(models[0].input, (ImageShape{1, 28, 28}));
  EXPECT_EQ(models[0].classes, 10);
  EXPECT_EQ(models[1].name, "resnet-fmnist");
  EXPECT_EQ(models[2].name, "resnet18");
  EXPECT_EQ(models[2].input, (ImageShape{3, 224, 224}));
  EXPECT_EQ(models[2].classes, 1000);
  for (const auto& m : models) EXPECT_EQ(m.source, ModelSource::zoo);
}

TEST(Zoo, OutputShapes) {
  for (const auto& info : zoo_models()) {
    SCOPED_TRACE(info.name);
    const auto model = make_zoo_model(info.name, 1);
    EXPECT_EQ(model->info().classes, info.classes);
    const std::size_t n = info.name == "resnet18" ? 2 : 5;
    const auto logits = run_logits(*model, random_batch(info.input, n, 7));
    EXPECT_EQ(logits.size(), n * static_cast<std::size_t>(info.classes));
    const auto result = run_batch(*model, random_batch(info.input, n, 7));
    ASSERT_EQ(result.predictions.size(), n);
    for (const auto& p : result.predictions) {
      EXPECT_GE(p.label, 0);
      EXPECT_LT(p.label, info.classes);
      EXPECT_GT(p.score, 0.0F);
      EXPECT_LE(p.score, 1.0F);
    }
  }
}

TEST(Zoo, SameSeedSameWeightsOtherSeedOtherWeights) {
  for (const char* name : {"lenet", "resnet-fmnist"}) {
    SCOPED_TRACE(name);
    const auto a = make_zoo_model(name, 42)->flat_state();
    const auto b = make_zoo_model(name, 42)->flat_state();
    const auto c = make_zoo_model(name, 43)->flat_state();
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
  }
}

TEST(Zoo, SaveLoadRoundTripGivesIdenticalOutputs) {
  for (const char* name : {"lenet", "resnet-fmnist"}) {
    SCOPED_TRACE(name);
    const auto model = make_zoo_model(name, 3);
    const auto bytes = model->save_bytes();
    const auto loaded = Model::load_bytes(bytes, LoadOptions{.name = "copy", .source = ModelSource::sdfs, .input = {}, .normalization = {}});
    EXPECT_EQ(loaded->info().input, model->info().input);
    EXPECT_EQ(loaded->info().classes, model->info().classes);
    EXPECT_EQ(loaded->info().normalization, model->info().normalization);
    EXPECT_EQ(loaded->info().source, ModelSource::sdfs);
    EXPECT_EQ(loaded->flat_state(), model->flat_state());
    const auto batch = random_batch(model->info().input, 4, 11);
    EXPECT_EQ(run_logits(*loaded, batch), run_logits(*model, batch));
  }
}

TEST(Zoo, UnknownNameListsTheZoo) {
  try {
    make_zoo_model("vgg", 0);
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("lenet"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace idunno::ml
