#include "ml/base/model_info.hpp"

namespace idunno::ml {

std::string to_string(const ImageShape& shape) {
  return std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" + std::to_string(shape.width);
}

std::string_view to_string(ModelSource source) {
  switch (source) {
    case ModelSource::zoo: return "zoo";
    case ModelSource::sdfs: return "sdfs";
    case ModelSource::file: return "file";
  }
  return "file";
}

namespace {
float pick(const std::vector<float>& values, std::int64_t channel, float fallback) {
  if (values.empty()) return fallback;
  if (values.size() == 1) return values.front();
  const auto index = static_cast<std::size_t>(channel);
  return index < values.size() ? values[index] : values.back();
}
}  // namespace

float Normalization::mean_of(std::int64_t channel) const { return pick(mean, channel, 0.0F); }

float Normalization::std_of(std::int64_t channel) const { return pick(std, channel, 1.0F); }

}  // namespace idunno::ml
