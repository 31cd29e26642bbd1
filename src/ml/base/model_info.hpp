#pragma once
// Plain descriptions of models, free of LibTorch so that any module (the
// command layer, the scheduler) can include them: the input an image model
// takes, how pixels are normalised for it, and where it came from.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::ml {

// Channels x height x width of one image (a model input, a dataset sample).
struct ImageShape {
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;

  std::int64_t elements() const { return channels * height * width; }
  std::vector<std::int64_t> to_vector() const { return {channels, height, width}; }
  friend bool operator==(const ImageShape&, const ImageShape&) = default;
};

// "1x28x28".
std::string to_string(const ImageShape& shape);

enum class ModelSource { zoo, sdfs, file };

// "zoo", "sdfs" or "file", as the `models` command prints it.
std::string_view to_string(ModelSource source);

// How 8-bit pixels become model input: value = (pixel / 255 - mean[c]) / std[c].
// One entry applies to every channel.
struct Normalization {
  std::vector<float> mean{0.0F};
  std::vector<float> std{1.0F};

  float mean_of(std::int64_t channel) const;
  float std_of(std::int64_t channel) const;
  friend bool operator==(const Normalization&, const Normalization&) = default;
};

// What the `models` command lists, and what preprocessing needs to know.
struct ModelInfo {
  std::string name;
  ModelSource source = ModelSource::file;
  ImageShape input;
  std::int64_t classes = 0;
  Normalization normalization;
};

}  // namespace idunno::ml
