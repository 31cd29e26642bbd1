#pragma once
// The LibTorch side of Model, for the engine's *_torch.cpp files only (it
// includes LibTorch; never include it from a public header).

#include <torch/script.h>

#include <string>

#include "ml/model.hpp"
#include "ml/base/model_meta.hpp"

namespace idunno::ml {

struct Model::Impl {
  torch::jit::Module module;
};

// The first line of a LibTorch error, without its C++ backtrace.
std::string torch_message(const c10::Error& error);

}  // namespace idunno::ml
