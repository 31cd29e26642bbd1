#pragma once
// Builds TorchScript modules layer by layer for the zoo (torch-side, for
// the engine's *_torch.cpp files only): each layer is a small scripted
// module with its own parameters and a `forward` defined from TorchScript
// source, registered under its parent like nn.Module children. Weights come
// from one seeded generator in construction order, hence determinism.

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>

namespace idunno::ml::zoo {

// Weight initialisation schemes, as PyTorch's layers and torchvision's
// ResNet use them.
enum class Init { pytorch_default, kaiming_fan_out };

// One generator and one compilation unit for a whole model.
class Builder {
 public:
  explicit Builder(std::uint64_t seed);

  // An empty module of a fresh (mangled) type with a `training` flag.
  torch::jit::Module module(const std::string& type_name);

  torch::jit::Module conv2d(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                            std::int64_t padding, bool bias, Init init);
  torch::jit::Module batch_norm2d(std::int64_t channels);
  torch::jit::Module linear(std::int64_t in, std::int64_t out);

 private:
  at::Tensor uniform(at::IntArrayRef shape, double bound);
  at::Tensor normal(at::IntArrayRef shape, double std);

  at::Generator generator_;
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
};

torch::jit::Module lenet(Builder& builder);
torch::jit::Module resnet_fmnist(Builder& builder);
torch::jit::Module resnet18(Builder& builder);

}  // namespace idunno::ml::zoo
