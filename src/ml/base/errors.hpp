#pragma once
// The errors of the ML engine a caller can react to. Each message names what
// was wrong (the model, the dataset file, the shape) and what to do, so the
// command layer can show it to the user unchanged.

#include <stdexcept>

namespace idunno::ml {

// A model that cannot be built, loaded, validated or run.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A dataset that cannot be read or decoded (bad magic, truncated, labels
// that do not match the images).
class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training that cannot run (bad options, a rank that left the group).
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace idunno::ml
