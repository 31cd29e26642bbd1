#pragma once
// The synchronous forward pass: one batch, on the calling thread. The
// executor runs it on its pool; tests and tools may call it directly. Never
// call it on the event loop.

#include <vector>

#include "ml/base/batch.hpp"
#include "ml/model.hpp"
#include "ml/base/results.hpp"

namespace idunno::ml {

// Forward, softmax and argmax under torch::InferenceMode. Throws ModelError
// when the batch does not fit the model.
BatchResult run_batch(const Model& model, const Batch& batch);

// Forward and softmax over every class under torch::InferenceMode (the
// best class's probability is the one run_batch gives). Throws ModelError
// when the batch does not fit the model.
BatchScores run_scores(const Model& model, const Batch& batch);

// The raw scores (logits), [batch.size() x classes] row-major.
std::vector<float> run_logits(const Model& model, const Batch& batch);

// Runs `runs` forward passes of a zero batch of one sample, so that the
// first real query does not pay for LibTorch's lazy initialisation.
void warm_up(const Model& model, int runs);

// LibTorch thread settings. Intra-op threads are per calling thread (OpenMP):
// set them on every thread that runs forward passes; repeated calls with the
// same value are cheap. Inter-op threads are process-wide and can be set only
// before the first parallel work; later calls are ignored.
void set_torch_thread_count(int intra_op_threads);
void set_torch_interop_threads(int inter_op_threads);

}  // namespace idunno::ml
