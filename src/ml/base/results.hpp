#pragma once
// What inference produces: one prediction per query and the time a batch
// took, and the text form of results that jobs write to SDFS. The text is a
// pure function of the predictions, so a shard re-run after a failure writes
// the same bytes.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace idunno::ml {

struct Prediction {
  std::int64_t index = 0;  // the query index in the dataset
  std::int64_t label = 0;  // predicted class
  float score = 0.0F;      // its softmax probability
  friend bool operator==(const Prediction&, const Prediction&) = default;
};

// The outcome of one batch.
struct BatchResult {
  std::vector<Prediction> predictions;
  std::chrono::nanoseconds processing_time{0};  // forward pass and softmax, on the pool thread
  std::size_t labelled = 0;  // queries with a known label
  std::size_t correct = 0;   // of those, predicted right
};

// Every class's softmax probability for each query of a batch (online
// inference answers with all of them, not just the best).
struct BatchScores {
  std::size_t classes = 0;
  std::vector<float> probabilities;  // queries x classes, row-major
  std::chrono::nanoseconds processing_time{0};  // forward pass and softmax, on the pool thread
};

// One line per prediction, "INDEX LABEL SCORE\n", score with 6 decimals.
std::string format_results(const std::vector<Prediction>& predictions);

// Appends format_results(predictions) to `out`.
void append_results(std::string& out, const std::vector<Prediction>& predictions);

}  // namespace idunno::ml
