#pragma once
// A batch of model-ready inputs in plain memory (NCHW floats) with the query
// index and the known label of each sample. Built on a pool thread from a
// dataset and a model's input description; the executor turns it into a
// tensor without copying. Torch-free so that callers can build and hold one.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ml/base/dataset.hpp"
#include "ml/base/model_info.hpp"

namespace idunno::ml {

struct Batch {
  ImageShape shape;                   // of one sample
  std::vector<float> values;          // size() * shape.elements(), NCHW
  std::vector<std::int64_t> indices;  // query index of each sample
  std::vector<std::int64_t> labels;   // -1 where unknown

  std::size_t size() const { return indices.size(); }
};

// Samples [begin, end) (local indices) of `dataset`, preprocessed for `model`.
Batch make_batch(const Dataset& dataset, std::size_t begin, std::size_t end, const ModelInfo& model);

// The given samples (local indices), in that order.
Batch make_batch(const Dataset& dataset, const std::vector<std::size_t>& samples, const ModelInfo& model);

// Converts one image to `target` (channel conversion, bilinear resize) and
// writes it normalised, CHW, to `out` (target.elements() floats).
void preprocess(const Image& image, const ImageShape& target, const Normalization& normalization, float* out);

}  // namespace idunno::ml
