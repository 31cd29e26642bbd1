#include "cli/train_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "cli/shard_runner.hpp"
#include "core/logging.hpp"
#include "ml/base/dataset.hpp"
#include "ml/engine/engine.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
using ml::jobs::EpochEntry;
using ml::jobs::TrainTask;

namespace {

constexpr std::string_view kCheckpointMagic = "IDUNNO-CHECKPOINT 1\n";
// A rank that does not join, or stops answering inside a collective, fails
// the others after this long (then the lease goes back).
constexpr auto kGroupTimeout = std::chrono::seconds(20);

}  // namespace

std::string encode_checkpoint(std::string_view model, std::string_view optimizer_state) {
  std::string out(kCheckpointMagic);
  out += std::to_string(model.size());
  out += '\n';
  out += model;
  out += optimizer_state;
  return out;
}

std::pair<std::string, std::string> decode_checkpoint(std::string_view bytes) {
  const auto bad = [] { return std::runtime_error("not an IDunno training checkpoint"); };
  if (bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) throw bad();
  bytes.remove_prefix(kCheckpointMagic.size());
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos || newline == 0 || newline > 20) throw bad();
  std::uint64_t size = 0;
  for (const char c : bytes.substr(0, newline)) {
    if (c < '0' || c > '9') throw bad();
    size = size * 10 + static_cast<std::uint64_t>(c - '0');
  }
  bytes.remove_prefix(newline + 1);
  if (size > bytes.size()) throw bad();
  return {std::string(bytes.substr(0, size)), std::string(bytes.substr(size))};
}

TrainRunner::TrainRunner(ShardRunner& shards, std::string worker_name)
    : shards_(shards), worker_name_(std::move(worker_name)) {}

asio::awaitable<void> TrainRunner::run(TrainTask task, core::CancelToken stop, EpochReport report) {
  ml::Engine& engine = shards_.engine();
  const auto world = static_cast<std::size_t>(task.group.size());
  const auto rank = static_cast<std::size_t>(task.rank);
  spdlog::info("event=train_started job={} attempt={} node={} rank={} world={} first_epoch={} epochs={}",
               core::log_quote(task.job), task.attempt, core::log_quote(worker_name_), rank, world, task.first_epoch,
               task.epochs);

  // This rank's contiguous part of the training set; every rank evaluates
  // its stride of the eval set (the trainer sums the counts).
  ml::DatasetPtr whole = co_await shards_.whole_dataset(task.data);
  const std::size_t size = whole->size();
  ml::DatasetPtr train_set =
      world > 1 ? ml::slice_dataset(whole, size * rank / world, size * (rank + 1) / world) : whole;
  ml::DatasetPtr eval_set;
  if (task.eval) eval_set = co_await shards_.whole_dataset(*task.eval);

  // The starting point: the last checkpoint, or the job's model.
  ml::ModelPtr model;
  std::string optimizer_state;
  if (task.checkpoint_version > 0) {
    std::string bytes =
        co_await shards_.fetch_checked(task.checkpoint, task.checkpoint_version, 0, std::nullopt, "the checkpoint");
    auto [model_bytes, state] = decode_checkpoint(bytes);
    optimizer_state = std::move(state);
    ml::LoadOptions options{
        .name = task.model_out, .source = ml::ModelSource::sdfs, .input = whole->sample_shape(), .normalization = {}};
    model = co_await engine.load_model("checkpoint:" + at_version(task.checkpoint, task.checkpoint_version),
                                       std::move(model_bytes), std::move(options));
  } else {
    model = co_await shards_.model_for(task.model, whole->sample_shape());
  }
  if (model->info().input != whole->sample_shape()) {
    throw std::runtime_error("model " + task.model.name + " takes input " + ml::to_string(model->info().input) +
                             ", but dataset " + task.data.images + " has samples of " +
                             ml::to_string(whole->sample_shape()));
  }

  ml::TrainOptions options;
  if (task.optimizer != "sgd" && task.optimizer != "adam")
    throw std::runtime_error("unknown optimizer " + task.optimizer);
  options.optimizer = task.optimizer == "adam" ? ml::OptimizerKind::adam : ml::OptimizerKind::sgd;
  options.batch_size = static_cast<std::size_t>(task.batch);
  options.learning_rate = task.lr;
  options.lr_decay = task.lr_decay;
  options.schedule = task.schedule == "cosine" ? ml::LrSchedule::cosine : ml::LrSchedule::exponential;
  options.schedule_epochs = static_cast<int>(task.epochs);
  options.weight_decay = task.weight_decay;
  options.augmentation = ml::Augmentation{task.augment_flip, static_cast<int>(task.augment_shift)};
  options.seed = task.seed;
  options.epochs = 1;
  options.stop = stop;
  const std::size_t slots = std::max<std::size_t>(1, engine.stats().slots);
  options.threads = static_cast<int>(std::max<std::size_t>(1, slots / std::max<std::uint64_t>(1, task.host_ranks)));
  if (world > 1) {
    ml::GroupOptions group;
    group.rank = static_cast<int>(rank);
    group.world_size = static_cast<int>(world);
    group.host = task.rendezvous_host;
    group.port = static_cast<std::uint16_t>(task.rendezvous_port);
    group.bind_host = task.bind_host;
    group.timeout = kGroupTimeout;
    options.group = co_await engine.join_group(group);
  }

  for (std::uint64_t epoch = task.first_epoch; epoch <= task.epochs; ++epoch) {
    options.first_epoch = static_cast<int>(epoch);
    options.optimizer_state = std::move(optimizer_state);
    auto [trained, result] = co_await engine.train(model, train_set, eval_set, options, {});
    if (result.stopped || stop.stop_requested()) {
      spdlog::info("event=train_stopped job={} attempt={} node={} epoch={}", core::log_quote(task.job), task.attempt,
                   core::log_quote(worker_name_), epoch);
      co_return;
    }
    model = std::move(trained);
    optimizer_state = std::move(result.optimizer_state);
    const ml::EpochReport& r = result.epochs.at(0);
    if (rank != 0) continue;
    std::string model_bytes = co_await engine.save_model(model);
    EpochEntry entry;
    entry.epoch = epoch;
    entry.loss = r.loss;
    if (r.evaluated > 0) entry.accuracy = r.accuracy;
    entry.images_per_s = r.images_per_second;
    entry.seconds = r.seconds;
    entry.checkpoint_version = co_await shards_.store(task.checkpoint, encode_checkpoint(model_bytes, optimizer_state),
                                                      "the checkpoint of epoch " + std::to_string(epoch));
    std::uint64_t model_version = 0;
    if (epoch == task.epochs) {
      model_version = co_await shards_.store(task.model_out, std::move(model_bytes), "the trained model");
    }
    spdlog::info(
        "event=train_epoch_done job={} attempt={} node={} epoch={} loss={:.4f} accuracy={:.4f} "
        "images_per_s={:.1f} checkpoint_version={}",
        core::log_quote(task.job), task.attempt, core::log_quote(worker_name_), epoch, entry.loss,
        entry.accuracy.value_or(0.0), entry.images_per_s, entry.checkpoint_version);
    co_await report(entry, model_version);
  }
}

}  // namespace idunno::cli
