#pragma once
// A batch of model-ready inputs in plain memory (NCHW floats) with the query
// index and the known label of each sample. Built on a pool thread from a
// dataset and a model's input description; the executor turns it into a
// tensor without copying. Torch-free so that callers can build and hold one.

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "ml/base/dataset.hpp"
#include "ml/base/model_info.hpp"

namespace idunno::ml {

// Memory aligned as LibTorch aligns its own tensors (64 bytes, a cache
// line), since the executor hands a batch's memory to the model as it is,
// without a copy.
template <typename T, std::size_t Alignment = 64>
struct AlignedAllocator {
  static_assert(Alignment >= alignof(T) && (Alignment & (Alignment - 1)) == 0);
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>& /*other*/) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{Alignment})); }
  void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, n * sizeof(T), std::align_val_t{Alignment}); }
  friend bool operator==(const AlignedAllocator& /*a*/, const AlignedAllocator& /*b*/) { return true; }
};

struct Batch {
  ImageShape shape;                                   // of one sample
  std::vector<float, AlignedAllocator<float>> values;  // size() * shape.elements(), NCHW
  std::vector<std::int64_t> indices;  // query index of each sample
  std::vector<std::int64_t> labels;   // -1 where unknown

  std::size_t size() const { return indices.size(); }
};

// Samples [begin, end) (local indices) of `dataset`, preprocessed for `model`.
Batch make_batch(const Dataset& dataset, std::size_t begin, std::size_t end, const ModelInfo& model);

// The given samples (local indices), in that order.
Batch make_batch(const Dataset& dataset, const std::vector<std::size_t>& samples, const ModelInfo& model);

// Training-time augmentation: each image mirrored left-right with
// probability 1/2 (flip) and moved by up to `shift` pixels along each axis,
// the uncovered border black (0). Only for training batches; evaluation and
// inference see the images as they are.
struct Augmentation {
  bool flip = false;
  int shift = 0;
  bool any() const { return flip || shift > 0; }
  friend bool operator==(const Augmentation&, const Augmentation&) = default;
};

// `image` mirrored left-right if `flip`, then moved right by `dx` and down
// by `dy` pixels (negative: left, up); what moves out is dropped, what is
// uncovered is 0.
Image transform_image(const Image& image, bool flip, int dx, int dy);

// The given samples, each transformed as `augmentation` draws for it from
// `seed` (the same seed gives the same batch).
Batch make_batch(const Dataset& dataset, const std::vector<std::size_t>& samples, const ModelInfo& model,
                 const Augmentation& augmentation, std::uint64_t seed);

// Converts one image to `target` (channel conversion, bilinear resize) and
// writes it normalised, CHW, to `out` (target.elements() floats).
void preprocess(const Image& image, const ImageShape& target, const Normalization& normalization, float* out);

}  // namespace idunno::ml
