#include "ml/base/batch.hpp"

#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "ml/base/errors.hpp"

namespace idunno::ml {

namespace {
// Same pixels, `channels` channels (1 or 3): gray is replicated, colour is
// reduced to luma (ITU-R BT.601 weights).
Image convert_channels(const Image& image, std::int64_t channels) {
  if (image.shape.channels == channels) return image;
  const auto pixels = static_cast<std::size_t>(image.shape.height * image.shape.width);
  Image out{{channels, image.shape.height, image.shape.width}, {}};
  out.pixels.resize(pixels * static_cast<std::size_t>(channels));
  if (image.shape.channels == 1 && channels == 3) {
    for (std::size_t p = 0; p < pixels; ++p) out.pixels[3 * p] = out.pixels[3 * p + 1] = out.pixels[3 * p + 2] = image.pixels[p];
  } else if (image.shape.channels == 3 && channels == 1) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const float luma = 0.299F * image.pixels[3 * p] + 0.587F * image.pixels[3 * p + 1] + 0.114F * image.pixels[3 * p + 2];
      out.pixels[p] = static_cast<std::uint8_t>(std::lround(luma));
    }
  } else {
    throw DatasetError("cannot convert a " + std::to_string(image.shape.channels) + "-channel image to " +
                       std::to_string(channels) + " channels");
  }
  return out;
}

Image resize(const Image& image, std::int64_t height, std::int64_t width) {
  if (image.shape.height == height && image.shape.width == width) return image;
  Image out{{image.shape.channels, height, width}, {}};
  out.pixels.resize(static_cast<std::size_t>(out.shape.elements()));
  const int ok = stbir_resize_uint8(image.pixels.data(), static_cast<int>(image.shape.width),
                                    static_cast<int>(image.shape.height), 0, out.pixels.data(), static_cast<int>(width),
                                    static_cast<int>(height), 0, static_cast<int>(image.shape.channels));
  if (ok == 0) throw DatasetError("cannot resize image to " + std::to_string(height) + "x" + std::to_string(width));
  return out;
}

void check_range(const Dataset& dataset, std::size_t index) {
  if (index >= dataset.size()) {
    throw DatasetError(dataset.describe() + ": sample " + std::to_string(index) + " is out of range (" +
                       std::to_string(dataset.size()) + " samples)");
  }
}
}  // namespace

void preprocess(const Image& image, const ImageShape& target, const Normalization& normalization, float* out) {
  const bool same = image.shape == target;
  const Image converted = same ? Image{} : resize(convert_channels(image, target.channels), target.height, target.width);
  const Image& source = same ? image : converted;
  const auto channels = static_cast<std::size_t>(target.channels);
  const auto plane = static_cast<std::size_t>(target.height * target.width);
  for (std::size_t c = 0; c < channels; ++c) {
    const float scale = 1.0F / (255.0F * normalization.std_of(static_cast<std::int64_t>(c)));
    const float shift = normalization.mean_of(static_cast<std::int64_t>(c)) / normalization.std_of(static_cast<std::int64_t>(c));
    float* dst = out + c * plane;
    for (std::size_t p = 0; p < plane; ++p) dst[p] = static_cast<float>(source.pixels[p * channels + c]) * scale - shift;
  }
}

Batch make_batch(const Dataset& dataset, const std::vector<std::size_t>& samples, const ModelInfo& model) {
  return make_batch(dataset, samples, model, Augmentation{}, 0);
}

Image transform_image(const Image& image, bool flip, int dx, int dy) {
  const auto height = static_cast<int>(image.shape.height);
  const auto width = static_cast<int>(image.shape.width);
  const auto channels = static_cast<std::size_t>(image.shape.channels);
  Image out{image.shape, std::vector<std::uint8_t>(image.pixels.size(), 0)};
  for (int y = 0; y < height; ++y) {
    const int from_y = y - dy;
    if (from_y < 0 || from_y >= height) continue;
    for (int x = 0; x < width; ++x) {
      const int shifted = x - dx;
      if (shifted < 0 || shifted >= width) continue;
      const int from_x = flip ? width - 1 - shifted : shifted;
      const auto to =
          (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * channels;
      const auto from =
          (static_cast<std::size_t>(from_y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(from_x)) *
          channels;
      for (std::size_t c = 0; c < channels; ++c) out.pixels[to + c] = image.pixels[from + c];
    }
  }
  return out;
}

Batch make_batch(const Dataset& dataset, const std::vector<std::size_t>& samples, const ModelInfo& model,
                 const Augmentation& augmentation, std::uint64_t seed) {
  Batch batch;
  batch.shape = model.input;
  const auto elements = static_cast<std::size_t>(model.input.elements());
  batch.values.resize(samples.size() * elements);
  batch.indices.reserve(samples.size());
  batch.labels.reserve(samples.size());
  std::mt19937_64 rng(seed);
  const auto span = static_cast<std::uint64_t>(2 * std::max(augmentation.shift, 0) + 1);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    check_range(dataset, samples[i]);
    float* out = batch.values.data() + i * elements;
    if (!augmentation.any()) {
      preprocess(dataset.image(samples[i]), model.input, model.normalization, out);
    } else {
      // Three draws per sample whatever is enabled, so each sample's draws
      // do not depend on the others'.
      const bool heads = (rng() & 1U) != 0;
      const int dx = static_cast<int>(rng() % span) - augmentation.shift;
      const int dy = static_cast<int>(rng() % span) - augmentation.shift;
      preprocess(transform_image(dataset.image(samples[i]), augmentation.flip && heads, dx, dy), model.input,
                 model.normalization, out);
    }
    batch.indices.push_back(static_cast<std::int64_t>(dataset.first_index() + samples[i]));
    batch.labels.push_back(dataset.label(samples[i]).value_or(-1));
  }
  return batch;
}

Batch make_batch(const Dataset& dataset, std::size_t begin, std::size_t end, const ModelInfo& model) {
  if (begin > end || end > dataset.size()) {
    throw DatasetError(dataset.describe() + ": range [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") is outside its " + std::to_string(dataset.size()) + " samples");
  }
  std::vector<std::size_t> samples(end - begin);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = begin + i;
  return make_batch(dataset, samples, model);
}

}  // namespace idunno::ml
