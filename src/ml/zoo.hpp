#pragma once
// The built-in model zoo: standard architectures built in C++ as TorchScript
// modules, so that nothing needs Python or a download. Initial weights are
// a deterministic function of the seed. Every zoo model is trainable and
// saves as ordinary TorchScript.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "ml/model.hpp"
#include "ml/base/model_info.hpp"

namespace idunno::ml {

// lenet (LeNet-5, 1x28x28, 10 classes), resnet-fmnist (a ResNet-14 for
// 1x28x28, 10 classes), resnet18 (ResNet-18, 3x224x224, 1000 classes).
std::vector<ModelInfo> zoo_models();

bool is_zoo_model(std::string_view name);

// A fresh model with weights drawn from `seed`. Throws ModelError for an
// unknown name (the message lists the zoo).
std::shared_ptr<Model> make_zoo_model(std::string_view name, std::uint64_t seed = 0);

}  // namespace idunno::ml
