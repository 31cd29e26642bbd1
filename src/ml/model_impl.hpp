#pragma once
// The LibTorch side of Model, for the engine's *_torch.cpp files only (it
// includes LibTorch; never include it from a public header).

#include <torch/script.h>

#include <cstddef>
#include <optional>
#include <string>

#include "ml/model.hpp"
#include "ml/base/model_meta.hpp"

namespace idunno::ml {

// A clone of a module (sharing its tensors, in eval mode) whose forward is
// inlined and pools through idunno::max_pool2d: aten::max_pool2d's values,
// faster for small windows on NCHW input (serving_torch.cpp).
struct ServingModule {
  torch::jit::Module module;
  std::size_t fast_pools = 0;  // max_pool2d calls that go through ours
};
ServingModule serving_module(const torch::jit::Module& module);

struct Model::Impl {
  explicit Impl(torch::jit::Module m) : module(std::move(m)) {}
  // What training mutates and save() writes.
  torch::jit::Module module;
  // What inference runs, once Model::prepare_for_serving() made it
  // (serving_module; shares module's weights), or module itself when that
  // failed.
  std::optional<ServingModule> serving;
  torch::jit::Module& inference_module() { return serving ? serving->module : module; }
};

// The first line of a LibTorch error, without its C++ backtrace.
std::string torch_message(const c10::Error& error);

}  // namespace idunno::ml
