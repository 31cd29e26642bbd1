#pragma once
// A TorchScript image classifier and what IDunno knows about it (input
// shape, classes, normalisation). Loaded from what a Python user saved with
// torch.jit.save, built by the zoo, or produced by training. The LibTorch
// module hides behind a pimpl so this header stays torch-free.
//
// Thread safety: a loaded model is in eval mode and its const members
// (forward through the executor, save, info) may run from any number of
// threads at once. Training mutates a model: train a clone().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ml/base/model_info.hpp"

namespace idunno::ml {

// How to load a model file that may lack IDunno's metadata.
struct LoadOptions {
  std::string name = "model";
  ModelSource source = ModelSource::file;
  // The input shape, for files without metadata (plain Python exports);
  // when the file has metadata this must match it.
  std::optional<ImageShape> input;
  // Normalisation for files without metadata (default: pixel / 255).
  std::optional<Normalization> normalization;
};

class Model {
 public:
  // Loads and validates a TorchScript file: it must have a `forward` that
  // maps a [1, C, H, W] batch to [1, classes] scores. Throws ModelError
  // naming the model and what is wrong (not TorchScript, truncated, no
  // forward, wrong input shape, no known input shape).
  static std::shared_ptr<Model> load_file(const std::string& path, LoadOptions options);
  static std::shared_ptr<Model> load_bytes(std::string_view bytes, LoadOptions options);

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }
  // Throws ModelError unless the model maps a [1, shape] batch to class
  // scores (runs one forward pass).
  void check_input(const ImageShape& shape) const;

  // TorchScript with IDunno's metadata inside (an extra file of the archive);
  // torch.jit.load in Python reads it as usual.
  void save_file(const std::string& path) const;
  std::string save_bytes() const;

  // A deep copy (parameters included), e.g. to train without disturbing
  // users of this one. The copy is in eval mode.
  std::shared_ptr<Model> clone() const;
  // Inference (run_batch and friends) runs, from now on, a module of its own
  // that shares the weights and pools faster for the same values
  // (serving_torch.cpp). For models that only serve, such as the executor's
  // cache, before any concurrent use: training must not change this model's
  // weights afterwards (train a clone(), which is not prepared). Returns
  // how many max_pool2d calls of forward go through the engine's operator
  // (each still takes the fast way only for arguments it handles); 0, with
  // a warning logged, when the served module could not be built, and the
  // model is then served as it is.
  std::size_t prepare_for_serving();
  void set_name(std::string name, ModelSource source);

  // Every parameter, then every floating-point buffer, flattened in
  // registration order (to compare or fingerprint weights).
  std::vector<float> flat_state() const;
  std::size_t parameter_count() const;
  // Bytes held by parameters and buffers (the model cache's measure).
  std::size_t memory_bytes() const;

  // The LibTorch side, for the engine's own *_torch.cpp files only.
  struct Impl;
  Impl& impl() const { return *impl_; }
  // Takes a built module (see model_impl.hpp); validates it against `info`.
  static std::shared_ptr<Model> from_impl(std::unique_ptr<Impl> impl, ModelInfo info);

 private:
  Model(std::unique_ptr<Impl> impl, ModelInfo info);

  std::unique_ptr<Impl> impl_;
  ModelInfo info_;
};

using ModelPtr = std::shared_ptr<const Model>;

// How many max pools of served modules took the engine's fast way in this
// process so far (serving_torch.cpp; for tests and diagnostics).
std::uint64_t fast_pool_calls();

}  // namespace idunno::ml
