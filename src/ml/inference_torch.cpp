// run_batch: a batch in plain memory -> tensor (no copy) -> forward ->
// (label, softmax probability) per query.
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <mutex>

#include "ml/base/errors.hpp"
#include "ml/inference.hpp"
#include "ml/model_impl.hpp"

namespace idunno::ml {

namespace {
at::Tensor forward(const Model& model, const Batch& batch) {
  const auto& shape = batch.shape;
  if (!(shape == model.info().input)) {
    throw ModelError("model " + model.info().name + " takes input " + to_string(model.info().input) + ", the batch has " +
                     to_string(shape));
  }
  const auto n = static_cast<std::int64_t>(batch.size());
  if (batch.values.size() != static_cast<std::size_t>(n * shape.elements())) {
    throw ModelError("batch holds " + std::to_string(batch.values.size()) + " values for " + std::to_string(n) +
                     " samples of " + to_string(shape));
  }
  // from_blob does not copy; the batch outlives the forward pass.
  const auto input = at::from_blob(const_cast<float*>(batch.values.data()), {n, shape.channels, shape.height, shape.width},
                                   at::TensorOptions().dtype(at::kFloat));
  try {
    return model.impl().inference_module().forward({input}).toTensor();
  } catch (const c10::Error& e) {
    throw ModelError("model " + model.info().name + ": forward failed (" + torch_message(e) + ")");
  }
}
}  // namespace

BatchResult run_batch(const Model& model, const Batch& batch) {
  const auto start = std::chrono::steady_clock::now();
  BatchResult result;
  if (batch.size() == 0) return result;
  c10::InferenceMode guard;
  const auto logits = forward(model, batch).to(at::kFloat).contiguous();
  const auto classes = static_cast<std::size_t>(logits.size(1));
  const float* row = logits.data_ptr<float>();
  result.predictions.reserve(batch.size());
  // Softmax of the best class only, in plain C++ (a few ATen calls fewer per
  // batch, which shows at batch size 1): p = 1 / sum_j exp(l_j - l_max).
  for (std::size_t i = 0; i < batch.size(); ++i, row += classes) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < classes; ++c) {
      if (row[c] > row[best]) best = c;
    }
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c]) - row[best]);
    const auto label = static_cast<std::int64_t>(best);
    result.predictions.push_back({batch.indices[i], label, static_cast<float>(1.0 / sum)});
    if (batch.labels[i] >= 0) {
      ++result.labelled;
      if (batch.labels[i] == label) ++result.correct;
    }
  }
  result.processing_time = std::chrono::steady_clock::now() - start;
  return result;
}

BatchScores run_scores(const Model& model, const Batch& batch) {
  const auto start = std::chrono::steady_clock::now();
  BatchScores result;
  result.classes = static_cast<std::size_t>(model.info().classes);
  if (batch.size() == 0) return result;
  c10::InferenceMode guard;
  const auto logits = forward(model, batch).to(at::kFloat).contiguous();
  const auto classes = static_cast<std::size_t>(logits.size(1));
  result.classes = classes;
  result.probabilities.resize(batch.size() * classes);
  const float* row = logits.data_ptr<float>();
  float* out = result.probabilities.data();
  // The same arithmetic as run_batch, so that the best class's probability
  // is the very number an inference job writes.
  for (std::size_t i = 0; i < batch.size(); ++i, row += classes, out += classes) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < classes; ++c) {
      if (row[c] > row[best]) best = c;
    }
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c]) - row[best]);
    for (std::size_t c = 0; c < classes; ++c) {
      out[c] = static_cast<float>(std::exp(static_cast<double>(row[c]) - row[best]) / sum);
    }
  }
  result.processing_time = std::chrono::steady_clock::now() - start;
  return result;
}

std::vector<float> run_logits(const Model& model, const Batch& batch) {
  if (batch.size() == 0) return {};
  c10::InferenceMode guard;
  const auto logits = forward(model, batch).to(at::kFloat).contiguous();
  return {logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel()};
}

void warm_up(const Model& model, int runs) {
  Batch batch;
  batch.shape = model.info().input;
  batch.values.assign(static_cast<std::size_t>(batch.shape.elements()), 0.0F);
  batch.indices.push_back(0);
  batch.labels.push_back(-1);
  for (int i = 0; i < runs; ++i) run_batch(model, batch);
}

void set_torch_thread_count(int intra_op_threads) {
  thread_local int current = 0;
  if (intra_op_threads <= 0 || current == intra_op_threads) return;
  // ATen resets a thread's OpenMP team size to the process-wide value on
  // the thread's first parallel region; do that now so it cannot undo ours.
  at::internal::lazy_init_num_threads();
  at::set_num_threads(intra_op_threads);
  current = intra_op_threads;
}

void set_torch_interop_threads(int inter_op_threads) {
  static std::once_flag once;
  std::call_once(once, [inter_op_threads] {
    if (inter_op_threads <= 0) return;
    try {
      at::set_num_interop_threads(inter_op_threads);
    } catch (const c10::Error&) {
      // Parallel work already started: the pool keeps its size.
    }
  });
}

}  // namespace idunno::ml
