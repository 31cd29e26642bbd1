// train_model: the training loop (shuffle, forward, cross-entropy, backward,
// gradient all-reduce, optimizer step) and held-out evaluation.
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <numbers>
#include <numeric>
#include <random>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "ml/base/batch.hpp"
#include "ml/collectives.hpp"
#include "ml/base/errors.hpp"
#include "ml/inference.hpp"
#include "ml/model_impl.hpp"
#include "ml/trainer.hpp"

namespace idunno::ml {

namespace {
using Clock = std::chrono::steady_clock;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& params, const TrainOptions& o) {
  if (o.optimizer == OptimizerKind::adam) {
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
}

// The rate of step `step` (0-based) of epoch `epoch` (1-based).
double learning_rate(const TrainOptions& o, int epoch, std::size_t step, std::size_t steps) {
  return scheduled_learning_rate(o, (epoch - 1) + static_cast<double>(step) / static_cast<double>(steps));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& param_group : optimizer.param_groups()) param_group.options().set_lr(lr);
}

void check_options(const Model& model, const Dataset& train, const TrainOptions& o) {
  if (o.epochs < 1) throw TrainingError("epochs must be at least 1");
  if (o.first_epoch < 1) throw TrainingError("the first epoch is 1 or later");
  if (!(o.lr_decay > 0.0) || o.lr_decay > 1.0) throw TrainingError("the learning-rate decay must be in (0, 1]");
  if (o.schedule == LrSchedule::cosine && o.schedule_epochs < o.first_epoch + o.epochs - 1) {
    throw TrainingError("a cosine schedule spans at least the epochs trained");
  }
  if (o.batch_size < 1) throw TrainingError("batch size must be at least 1");
  if (!(o.learning_rate > 0.0)) throw TrainingError("learning rate must be positive");
  if (!(o.weight_decay >= 0.0)) throw TrainingError("the weight decay must not be negative");
  if (o.holdout_fraction < 0.0 || o.holdout_fraction >= 1.0) throw TrainingError("holdout fraction must be in [0, 1)");
  if (!train.has_labels()) throw TrainingError("dataset " + train.describe() + " has no labels; training needs labels");
  if (train.classes() > model.info().classes) {
    throw TrainingError("dataset " + train.describe() + " has " + std::to_string(train.classes()) + " classes, model " +
                        model.info().name + " only " + std::to_string(model.info().classes));
  }
}

// Puts every 4-D parameter (convolution weights) in `format`, in place:
// the module and the optimizer hold the same tensors.
void set_memory_format(const std::vector<at::Tensor>& params, at::MemoryFormat format) {
  at::NoGradGuard no_grad;
  for (auto p : params) {
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  }
}

std::vector<at::Tensor> float_buffers(torch::jit::Module& module) {
  std::vector<at::Tensor> out;
  for (const auto& b : module.buffers()) {
    if (b.is_floating_point()) out.push_back(b);
  }
  return out;
}

// Sums [grads..., extras...] across ranks in one all-reduce and averages the
// gradients; returns the summed extras.
std::vector<double> reduce_step(ProcessGroup& group, const std::vector<at::Tensor>& params, std::vector<double> extras) {
  std::vector<at::Tensor> parts;
  for (const auto& p : params) parts.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros({p.numel()}));
  parts.push_back(at::tensor(std::vector<float>(extras.begin(), extras.end())));
  std::vector<at::Tensor> flat{at::cat(parts)};
  all_reduce_sum(group, flat);
  const float scale = 1.0F / static_cast<float>(group.world_size());
  std::int64_t offset = 0;
  for (const auto& p : params) {
    if (p.grad().defined()) p.mutable_grad().copy_(flat[0].slice(0, offset, offset + p.numel()).view_as(p) * scale);
    offset += p.numel();
  }
  const float* tail = flat[0].data_ptr<float>() + offset;
  return {tail, tail + extras.size()};
}

// Accuracy counts over `samples` of `dataset`: {correct, total}. Stops early
// (counting what it evaluated) when `stop` is set.
std::pair<double, double> evaluate(Model& model, const Dataset& dataset, const std::vector<std::size_t>& samples,
                                   const core::CancelToken& stop) {
  auto& module = model.impl().module;
  module.eval();
  at::NoGradGuard no_grad;
  double correct = 0;
  double total = 0;
  constexpr std::size_t kEvalBatch = 256;
  for (std::size_t at = 0; at < samples.size() && !stop.stop_requested(); at += kEvalBatch) {
    const std::vector<std::size_t> part(samples.begin() + static_cast<std::ptrdiff_t>(at),
                                        samples.begin() + static_cast<std::ptrdiff_t>(std::min(at + kEvalBatch, samples.size())));
    const auto result = run_batch(model, make_batch(dataset, part, model.info()));
    correct += static_cast<double>(result.correct);
    total += static_cast<double>(part.size());
  }
  return {correct, total};
}

std::string optimizer_state(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return std::move(out).str();
}

// The seed of one training batch's augmentation (splitmix64 over its
// coordinates): distinct per rank, epoch and step, fixed by them.
std::uint64_t batch_seed(std::uint64_t seed, int epoch, std::size_t step, int rank) {
  std::uint64_t x = seed;
  for (const std::uint64_t part :
       {static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(rank)}) {
    x += 0x9e3779b97f4a7c15ULL + part;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
  }
  return x;
}

std::vector<std::size_t> range(std::size_t begin, std::size_t end, std::size_t stride = 1) {
  std::vector<std::size_t> out;
  for (std::size_t i = begin; i < end; i += stride) out.push_back(i);
  return out;
}
}  // namespace

OptimizerKind parse_optimizer(std::string_view name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  throw TrainingError("unknown optimizer '" + std::string(name) + "' (use sgd or adam)");
}

double scheduled_learning_rate(const TrainOptions& options, double done) {
  if (options.schedule == LrSchedule::exponential) {
    return options.learning_rate * std::pow(options.lr_decay, std::floor(done));
  }
  return options.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * done / options.schedule_epochs));
}

TrainResult train_model(Model& model, const Dataset& train, const Dataset* eval, const TrainOptions& options,
                        const TrainCallbacks& callbacks, ProcessGroup* group) {
  check_options(model, train, options);
  set_torch_thread_count(std::max(1, options.threads));
  auto& module = model.impl().module;
  std::vector<at::Tensor> params;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  if (params.empty()) throw TrainingError("model " + model.info().name + " has no trainable parameters");
  const int world = group ? group->world_size() : 1;
  const int rank = group ? group->rank() : 0;

  // Data: this rank's training samples, and what it evaluates on.
  const std::size_t available = options.limit ? std::min(options.limit, train.size()) : train.size();
  const std::size_t held_out = eval ? 0 : static_cast<std::size_t>(static_cast<double>(available) * options.holdout_fraction);
  const std::size_t train_count = available - held_out;
  const auto eval_samples = eval ? range(static_cast<std::size_t>(rank), eval->size(), static_cast<std::size_t>(world))
                                 : range(train_count, available);
  const Dataset& eval_set = eval ? *eval : train;
  std::size_t steps = std::max<std::size_t>(1, train_count / options.batch_size);
  if (train_count == 0) throw TrainingError("dataset " + train.describe() + " has no samples to train on");

  if (group) {
    // Every rank takes as many steps as the smallest shard allows, and
    // starts from rank 0's weights.
    std::vector<double> all(static_cast<std::size_t>(world), 0.0);
    all[static_cast<std::size_t>(rank)] = static_cast<double>(steps);
    group->all_reduce_sum(all);
    steps = static_cast<std::size_t>(*std::min_element(all.begin(), all.end()));
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> state = params;
    for (auto& b : float_buffers(module)) state.push_back(b);
    broadcast(*group, state, 0);
  }
  // Training runs in channels-last order (NHWC): oneDNN's convolutions and
  // their gradients, and max_pool2d's vectorised loop, take it directly.
  // The module goes back to NCHW at the end, so what is saved and served
  // is laid out as before.
  set_memory_format(params, at::MemoryFormat::ChannelsLast);
  auto optimizer = make_optimizer(params, options);
  if (!options.optimizer_state.empty()) {
    try {
      torch::serialize::InputArchive archive;
      std::istringstream in(options.optimizer_state);
      archive.load_from(in);
      optimizer->load(archive);
    } catch (const c10::Error& e) {
      throw TrainingError("model " + model.info().name + ": cannot restore the optimizer's state (" + torch_message(e) +
                          ")");
    }
  }

  TrainResult result;
  double total_seconds = 0;
  double total_samples = 0;
  const int last_epoch = options.first_epoch + options.epochs - 1;
  for (int epoch = options.first_epoch; epoch <= last_epoch && !result.stopped; ++epoch) {
    set_learning_rate(*optimizer, learning_rate(options, epoch, 0, steps));
    std::vector<std::size_t> order = range(0, train_count);
    std::mt19937_64 rng(options.seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
    module.train(true);
    const auto start = Clock::now();
    double loss_sum = 0;
    double samples = 0;
    double sync_seconds = 0;
    std::size_t step = 0;
    for (; step < steps && !result.stopped; ++step) {
      const std::size_t lo = (step * options.batch_size) % train_count;
      const std::vector<std::size_t> part(order.begin() + static_cast<std::ptrdiff_t>(lo),
                                          order.begin() + static_cast<std::ptrdiff_t>(std::min(lo + options.batch_size, train_count)));
      const Batch batch =
          make_batch(train, part, model.info(), options.augmentation, batch_seed(options.seed, epoch, step, rank));
      const auto& s = batch.shape;
      const auto n = static_cast<std::int64_t>(batch.size());
      const auto x =
          at::from_blob(const_cast<float*>(batch.values.data()), {n, s.channels, s.height, s.width}, at::kFloat)
              .contiguous(at::MemoryFormat::ChannelsLast);
      const auto y = at::tensor(batch.labels, at::kLong);
      at::Tensor loss;
      try {
        loss = at::cross_entropy_loss(module.forward({x}).toTensor(), y);
      } catch (const c10::Error& e) {
        throw TrainingError("model " + model.info().name + ": training step failed (" + torch_message(e) + ")");
      }
      optimizer->zero_grad();
      loss.backward();
      double step_loss = loss.item<double>();
      double step_samples = static_cast<double>(n);
      const bool stop_here = options.stop.stop_requested();
      bool stop_all = stop_here;
      if (group) {
        const auto sync_start = Clock::now();
        const auto sums = reduce_step(*group, params, {step_loss, step_samples, stop_here ? 1.0 : 0.0});
        sync_seconds += std::chrono::duration<double>(Clock::now() - sync_start).count();
        step_loss = sums[0] / world;
        step_samples = sums[1];
        stop_all = sums[2] > 0.0;
      }
      optimizer->step();
      if (options.schedule == LrSchedule::cosine)
        set_learning_rate(*optimizer, learning_rate(options, epoch, step + 1, steps));
      loss_sum += step_loss;
      samples += step_samples;
      result.stopped = stop_all;
      if (callbacks.on_progress && ((step + 1) % std::max<std::size_t>(1, callbacks.progress_every) == 0 || step + 1 == steps)) {
        callbacks.on_progress({epoch, step + 1, steps, loss_sum / static_cast<double>(step + 1)});
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (group) {
      // BatchNorm statistics differ per rank: average them.
      at::NoGradGuard no_grad;
      auto buffers = float_buffers(module);
      all_reduce_sum(*group, buffers);
      for (auto& b : buffers) b.div_(world);
    }
    // A stopped run is not evaluated: every rank agreed on the stop, so all
    // skip it; without a group, evaluation itself stops at a cancellation.
    const core::CancelToken no_stop;
    auto [correct, total] = result.stopped ? std::pair<double, double>{0.0, 0.0}
                                           : evaluate(model, eval_set, eval_samples, group ? no_stop : options.stop);
    if (!group && options.stop.stop_requested()) result.stopped = true;
    if (group) {
      std::vector<double> counts{correct, total};
      group->all_reduce_sum(counts);
      correct = counts[0];
      total = counts[1];
    }
    EpochReport report{epoch, loss_sum / static_cast<double>(std::max<std::size_t>(step, 1)),
                       total > 0 ? correct / total : 0.0, static_cast<std::size_t>(samples),
                       static_cast<std::size_t>(total), seconds, sync_seconds, seconds > 0 ? samples / seconds : 0.0};
    spdlog::info("event=train_epoch model={} rank={} epoch={} loss={:.4f} accuracy={:.4f} images_per_s={:.1f} sync_s={:.3f}",
                 model.info().name, rank, epoch, report.loss, report.accuracy, report.images_per_second, sync_seconds);
    total_seconds += seconds;
    total_samples += samples;
    result.epochs.push_back(report);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  module.eval();
  set_memory_format(params, at::MemoryFormat::Contiguous);
  result.images_per_second = total_seconds > 0 ? total_samples / total_seconds : 0.0;
  result.optimizer_state = optimizer_state(*optimizer);
  return result;
}

}  // namespace idunno::ml
