// Model: loading, validation, saving and copying of TorchScript modules.
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "core/logging.hpp"
#include "ml/base/errors.hpp"
#include "ml/model_impl.hpp"

namespace idunno::ml {

std::string torch_message(const c10::Error& error) {
  std::string text = error.what_without_backtrace();
  const auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  return text;
}

namespace {
bool looks_like_zip(std::string_view bytes) { return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

torch::jit::Module read_module(std::string_view bytes, const std::string& name, torch::jit::ExtraFilesMap& extra) {
  std::istringstream in{std::string(bytes)};
  try {
    return torch::jit::load(in, torch::kCPU, extra);
  } catch (const c10::Error& e) {
    if (!looks_like_zip(bytes)) {
      throw ModelError("model " + name +
                       ": not a TorchScript file (save it in Python with torch.jit.save(torch.jit.script(model), path))");
    }
    throw ModelError("model " + name + ": corrupt or truncated TorchScript archive (" + torch_message(e) +
                     "); upload the file again");
  }
}

// Runs a zero batch of `shape` and returns the class count; throws
// ModelError saying why the model does not take that input.
std::int64_t probe_classes(const torch::jit::Module& module, const std::string& name, const ImageShape& shape) {
  torch::InferenceMode guard;
  const auto input = torch::zeros({1, shape.channels, shape.height, shape.width});
  c10::IValue output;
  try {
    output = const_cast<torch::jit::Module&>(module).forward({input});
  } catch (const c10::Error& e) {
    throw ModelError("model " + name + " does not accept input " + to_string(shape) + " (" + torch_message(e) + ")");
  } catch (const std::exception& e) {
    throw ModelError("model " + name + " does not accept input " + to_string(shape) + " (" + e.what() + ")");
  }
  if (!output.isTensor() || output.toTensor().dim() != 2 || output.toTensor().size(0) != 1) {
    throw ModelError("model " + name + ": forward must return a [batch, classes] tensor of scores");
  }
  return output.toTensor().size(1);
}

void validate(torch::jit::Module& module, ModelInfo& info) {
  if (!module.find_method("forward")) throw ModelError("model " + info.name + ": has no forward method");
  if (info.input.elements() <= 0) {
    throw ModelError("model " + info.name +
                     ": input shape unknown (the file has no IDunno metadata; give the dataset's shape, e.g. 1x28x28)");
  }
  module.eval();
  const std::int64_t classes = probe_classes(module, info.name, info.input);
  if (info.classes != 0 && info.classes != classes) {
    throw ModelError("model " + info.name + ": metadata says " + std::to_string(info.classes) +
                     " classes but forward returns " + std::to_string(classes));
  }
  info.classes = classes;
}

std::shared_ptr<Model> load(std::string_view bytes, LoadOptions options) {
  torch::jit::ExtraFilesMap extra{{kModelMetaFile, ""}};
  auto impl = std::make_unique<Model::Impl>(Model::Impl{read_module(bytes, options.name, extra)});
  ModelInfo info;
  info.name = options.name;
  info.source = options.source;
  if (const auto& text = extra[kModelMetaFile]; !text.empty()) {
    const ModelMeta meta = decode_model_meta(text, "model " + options.name);
    info.input = meta.input;
    info.classes = meta.classes;
    if (meta.has_normalization) info.normalization = meta.normalization;
    if (options.input && info.input.elements() > 0 && *options.input != info.input) {
      throw ModelError("model " + options.name + " takes input " + to_string(info.input) + ", not " +
                       to_string(*options.input));
    }
  }
  if (info.input.elements() <= 0 && options.input) info.input = *options.input;
  if (options.normalization) info.normalization = *options.normalization;
  return Model::from_impl(std::move(impl), std::move(info));
}
}  // namespace

Model::Model(std::unique_ptr<Impl> impl, ModelInfo info) : impl_(std::move(impl)), info_(std::move(info)) {}

Model::~Model() = default;

std::shared_ptr<Model> Model::from_impl(std::unique_ptr<Impl> impl, ModelInfo info) {
  validate(impl->module, info);
  return std::shared_ptr<Model>(new Model(std::move(impl), std::move(info)));
}

std::shared_ptr<Model> Model::load_file(const std::string& path, LoadOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("model " + options.name + ": cannot open " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return load(bytes.str(), std::move(options));
}

std::shared_ptr<Model> Model::load_bytes(std::string_view bytes, LoadOptions options) {
  return load(bytes, std::move(options));
}

void Model::check_input(const ImageShape& shape) const { probe_classes(impl_->module, info_.name, shape); }

std::string Model::save_bytes() const {
  std::ostringstream out;
  impl_->module.save(out, {{kModelMetaFile, encode_model_meta(info_)}});
  return out.str();
}

void Model::save_file(const std::string& path) const {
  try {
    impl_->module.save(path, {{kModelMetaFile, encode_model_meta(info_)}});
  } catch (const c10::Error& e) {
    throw ModelError("model " + info_.name + ": cannot save to " + path + " (" + torch_message(e) + ")");
  }
}

std::size_t Model::prepare_for_serving() {
  if (impl_->serving) return impl_->serving->fast_pools;
  // Only a speed-up: a model whose served module cannot be built, or does
  // not map the input shape as the module does, is served as it is.
  std::string reason;
  try {
    auto served = serving_module(impl_->module);
    if (probe_classes(served.module, info_.name, info_.input) == info_.classes) {
      impl_->serving = std::move(served);
      spdlog::info("event=model_served model={} fast_pools={}", core::log_quote(info_.name),
                   impl_->serving->fast_pools);
      return impl_->serving->fast_pools;
    }
    reason = "the served module returns another number of classes";
  } catch (const c10::Error& e) {
    reason = torch_message(e);
  } catch (const std::exception& e) {
    reason = e.what();
  }
  spdlog::warn("event=model_serving_plain model={} reason={}", core::log_quote(info_.name), core::log_quote(reason));
  impl_->serving = ServingModule{impl_->module, 0};
  return 0;
}

std::shared_ptr<Model> Model::clone() const {
  auto impl = std::make_unique<Impl>(Impl{impl_->module.clone()});
  // Module::clone copies tensors with autograd history; parameters must be
  // leaves again to be trained.
  for (auto module : impl->module.modules()) {
    for (const auto& p : module.named_parameters(/*recurse=*/false)) {
      module.setattr(p.name, p.value.detach().requires_grad_(p.value.requires_grad()));
    }
  }
  impl->module.eval();
  return std::shared_ptr<Model>(new Model(std::move(impl), info_));
}

void Model::set_name(std::string name, ModelSource source) {
  info_.name = std::move(name);
  info_.source = source;
}

std::vector<float> Model::flat_state() const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& p : impl_->module.parameters()) parts.push_back(p.detach().to(torch::kFloat).reshape({-1}));
  for (const auto& b : impl_->module.buffers()) {
    if (b.is_floating_point()) parts.push_back(b.detach().to(torch::kFloat).reshape({-1}));
  }
  if (parts.empty()) return {};
  const auto flat = torch::cat(parts).contiguous();
  return {flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()};
}

std::size_t Model::parameter_count() const {
  std::size_t count = 0;
  for (const auto& p : impl_->module.parameters()) count += static_cast<std::size_t>(p.numel());
  return count;
}

std::size_t Model::memory_bytes() const {
  std::size_t bytes = 0;
  for (const auto& p : impl_->module.parameters()) bytes += p.nbytes();
  for (const auto& b : impl_->module.buffers()) bytes += b.nbytes();
  return bytes;
}

}  // namespace idunno::ml
