// The zoo's layer builder, LeNet-5, and the zoo's table.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>

#include "ml/base/errors.hpp"
#include "ml/model_impl.hpp"
#include "ml/zoo.hpp"
#include "ml/zoo_builder.hpp"

namespace idunno::ml {

namespace zoo {

Builder::Builder(std::uint64_t seed)
    : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
      unit_(std::make_shared<torch::jit::CompilationUnit>()) {}

torch::jit::Module Builder::module(const std::string& type_name) {
  torch::jit::Module m(c10::QualifiedName("__torch__.idunno." + type_name), unit_, /*shouldMangle=*/true);
  if (!m.hasattr("training")) m.register_attribute("training", c10::BoolType::get(), true);
  return m;
}

at::Tensor Builder::uniform(at::IntArrayRef shape, double bound) {
  return at::empty(shape).uniform_(-bound, bound, generator_).requires_grad_(true);
}

at::Tensor Builder::normal(at::IntArrayRef shape, double std) {
  return at::empty(shape).normal_(0.0, std, generator_).requires_grad_(true);
}

torch::jit::Module Builder::conv2d(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                                   std::int64_t padding, bool bias, Init init) {
  auto m = module("Conv2d");
  const double fan_in = static_cast<double>(in * kernel * kernel);
  const double fan_out = static_cast<double>(out * kernel * kernel);
  // PyTorch's default (kaiming_uniform with a = sqrt(5)) has bound 1/sqrt(fan_in).
  m.register_parameter("weight",
                       init == Init::kaiming_fan_out ? normal({out, in, kernel, kernel}, std::sqrt(2.0 / fan_out))
                                                     : uniform({out, in, kernel, kernel}, 1.0 / std::sqrt(fan_in)),
                       false);
  if (bias) m.register_parameter("bias", uniform({out}, 1.0 / std::sqrt(fan_in)), false);
  const std::string s = std::to_string(stride);
  const std::string p = std::to_string(padding);
  m.define("def forward(self, x):\n  return torch.conv2d(x, self.weight, " + std::string(bias ? "self.bias" : "None") +
           ", [" + s + ", " + s + "], [" + p + ", " + p + "], [1, 1], 1)\n");
  return m;
}

torch::jit::Module Builder::batch_norm2d(std::int64_t channels) {
  auto m = module("BatchNorm2d");
  m.register_parameter("weight", at::ones({channels}).requires_grad_(true), false);
  m.register_parameter("bias", at::zeros({channels}).requires_grad_(true), false);
  m.register_buffer("running_mean", at::zeros({channels}));
  m.register_buffer("running_var", at::ones({channels}));
  m.define(R"(def forward(self, x):
  return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, self.training, 0.1, 1e-05, False)
)");
  return m;
}

torch::jit::Module Builder::linear(std::int64_t in, std::int64_t out) {
  auto m = module("Linear");
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  m.register_parameter("weight", uniform({out, in}, bound), false);
  m.register_parameter("bias", uniform({out}, bound), false);
  m.define("def forward(self, x):\n  return torch.linear(x, self.weight, self.bias)\n");
  return m;
}

torch::jit::Module lenet(Builder& builder) {
  auto m = builder.module("LeNet5");
  m.register_module("conv1", builder.conv2d(1, 6, 5, 1, 2, true, Init::pytorch_default));
  m.register_module("conv2", builder.conv2d(6, 16, 5, 1, 0, true, Init::pytorch_default));
  m.register_module("fc1", builder.linear(16 * 5 * 5, 120));
  m.register_module("fc2", builder.linear(120, 84));
  m.register_module("fc3", builder.linear(84, 10));
  // 2x2 max pooling, stride 2 (served faster by the engine's own operator:
  // serving_torch.cpp).
  m.define(R"(def forward(self, x):
  x = torch.max_pool2d(torch.relu(self.conv1.forward(x)), [2, 2], [2, 2], [0, 0], [1, 1], False)
  x = torch.max_pool2d(torch.relu(self.conv2.forward(x)), [2, 2], [2, 2], [0, 0], [1, 1], False)
  x = torch.flatten(x, 1)
  x = torch.relu(self.fc1.forward(x))
  x = torch.relu(self.fc2.forward(x))
  return self.fc3.forward(x)
)");
  return m;
}

}  // namespace zoo

namespace {
// Fashion-MNIST's pixel statistics; ImageNet's for ResNet-18.
const Normalization kFashionMnist{{0.2860F}, {0.3530F}};
const Normalization kImageNet{{0.485F, 0.456F, 0.406F}, {0.229F, 0.224F, 0.225F}};

struct ZooEntry {
  ModelInfo info;
  std::function<torch::jit::Module(zoo::Builder&)> build;
};

const std::vector<ZooEntry>& entries() {
  static const std::vector<ZooEntry> table{
      {{"lenet", ModelSource::zoo, {1, 28, 28}, 10, kFashionMnist}, zoo::lenet},
      {{"resnet-fmnist", ModelSource::zoo, {1, 28, 28}, 10, kFashionMnist}, zoo::resnet_fmnist},
      {{"resnet18", ModelSource::zoo, {3, 224, 224}, 1000, kImageNet}, zoo::resnet18},
  };
  return table;
}
}  // namespace

std::vector<ModelInfo> zoo_models() {
  std::vector<ModelInfo> out;
  for (const auto& entry : entries()) out.push_back(entry.info);
  return out;
}

bool is_zoo_model(std::string_view name) {
  for (const auto& entry : entries()) {
    if (entry.info.name == name) return true;
  }
  return false;
}

std::shared_ptr<Model> make_zoo_model(std::string_view name, std::uint64_t seed) {
  for (const auto& entry : entries()) {
    if (entry.info.name != name) continue;
    zoo::Builder builder(seed);
    auto impl = std::make_unique<Model::Impl>(Model::Impl{entry.build(builder)});
    return Model::from_impl(std::move(impl), entry.info);
  }
  std::string known;
  for (const auto& entry : entries()) known += (known.empty() ? "" : ", ") + entry.info.name;
  throw ModelError("no zoo model named '" + std::string(name) + "' (the zoo has " + known + ")");
}

}  // namespace idunno::ml
