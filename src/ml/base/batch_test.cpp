// Training-time augmentation: an image mirrored and moved exactly as asked,
// with a black border; a batch drawn from a seed is the same for the same
// seed, and differs in its transforms, never in its samples or labels.

#include "ml/base/batch.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"

namespace idunno::ml {
namespace {

// A 3x4 gray image with pixels 1..12, row by row.
Image numbered() {
  Image image{{1, 3, 4}, {}};
  for (std::uint8_t p = 1; p <= 12; ++p) image.pixels.push_back(p);
  return image;
}

TEST(TransformImage, MirrorsAndMovesWithABlackBorder) {
  EXPECT_EQ(transform_image(numbered(), false, 0, 0).pixels, numbered().pixels);
  EXPECT_EQ(transform_image(numbered(), true, 0, 0).pixels,
            (std::vector<std::uint8_t>{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9}));
  EXPECT_EQ(transform_image(numbered(), false, 1, 0).pixels,
            (std::vector<std::uint8_t>{0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11}));
  EXPECT_EQ(transform_image(numbered(), false, -2, -1).pixels,
            (std::vector<std::uint8_t>{7, 8, 0, 0, 11, 12, 0, 0, 0, 0, 0, 0}));
  // Mirrored first, then moved.
  EXPECT_EQ(transform_image(numbered(), true, 1, 1).pixels,
            (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 4, 3, 2, 0, 8, 7, 6}));
  // Channels move together.
  Image rgb{{3, 1, 2}, {1, 2, 3, 4, 5, 6}};
  EXPECT_EQ(transform_image(rgb, true, 0, 0).pixels, (std::vector<std::uint8_t>{4, 5, 6, 1, 2, 3}));
}

TEST(AugmentedBatch, TheSameSeedGivesTheSameBatchAndOnlyPixelsChange) {
  const auto dataset = IdxDataset::from_bytes(test::idx_images(32), test::idx_labels(32), "synthetic");
  const ModelInfo model{"m", ModelSource::zoo, {1, 28, 28}, 10, {{0.0F}, {1.0F}}};
  std::vector<std::size_t> samples;
  for (std::size_t i = 0; i < 32; ++i) samples.push_back((i * 5) % 32);
  const Augmentation augmentation{true, 2};
  const Batch a = make_batch(*dataset, samples, model, augmentation, 7);
  const Batch b = make_batch(*dataset, samples, model, augmentation, 7);
  const Batch c = make_batch(*dataset, samples, model, augmentation, 8);
  const Batch plain = make_batch(*dataset, samples, model);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
  EXPECT_NE(a.values, plain.values);
  EXPECT_EQ(a.indices, plain.indices);
  EXPECT_EQ(a.labels, plain.labels);
  // Nothing asked, nothing changed.
  EXPECT_EQ(make_batch(*dataset, samples, model, Augmentation{}, 7).values, plain.values);
  // Each sample is one of the transforms asked for: some flip and shift
  // within 2 pixels reproduces it.
  const auto elements = static_cast<std::size_t>(model.input.elements());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    bool found = false;
    for (int flip = 0; flip < 2 && !found; ++flip) {
      for (int dx = -2; dx <= 2 && !found; ++dx) {
        for (int dy = -2; dy <= 2 && !found; ++dy) {
          const Image t = transform_image(dataset->image(samples[i]), flip != 0, dx, dy);
          bool same = true;
          for (std::size_t p = 0; p < elements && same; ++p) {
            same = std::abs(a.values[i * elements + p] - static_cast<float>(t.pixels[p]) / 255.0F) < 1e-6F;
          }
          found = same;
        }
      }
    }
    EXPECT_TRUE(found) << "sample " << i;
  }
}

}  // namespace
}  // namespace idunno::ml
