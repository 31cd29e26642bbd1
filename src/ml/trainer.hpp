#pragma once
// Training of a TorchScript classifier on a labelled dataset: SGD or Adam,
// epochs, batch size, learning rate; per-epoch loss and accuracy on a
// held-out split; progress reports; optionally data-parallel with the other
// ranks of a ProcessGroup (gradients all-reduced through Gloo). Blocking and
// CPU-heavy: run it on a pool thread (Executor::train) or in a worker
// process, never on the event loop.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel_token.hpp"
#include "ml/base/batch.hpp"
#include "ml/base/dataset.hpp"
#include "ml/model.hpp"

namespace idunno::ml {

class ProcessGroup;

enum class OptimizerKind { sgd, adam };

// How the learning rate moves over a run: `exponential` trains epoch e at
// learning_rate * lr_decay^(e - 1); `cosine` anneals it step by step from
// learning_rate to 0 along half a cosine over `schedule_epochs` epochs.
enum class LrSchedule { exponential, cosine };

// "sgd" or "adam"; throws TrainingError otherwise.
OptimizerKind parse_optimizer(std::string_view name);

struct TrainOptions {
  OptimizerKind optimizer = OptimizerKind::sgd;
  int epochs = 1;
  std::size_t batch_size = 64;  // per rank
  double learning_rate = 0.01;
  double momentum = 0.9;  // SGD only
  double weight_decay = 0.0;
  std::uint64_t seed = 0;  // shuffling; identical on every rank
  // Applied to every training batch (never to evaluation), drawn from
  // the seed, the epoch, the step and the rank: a resumed run augments as
  // an uninterrupted one does.
  Augmentation augmentation;
  // Without an evaluation set, this tail fraction of the training data is
  // held out for accuracy and not trained on.
  double holdout_fraction = 0.1;
  // Train on only the first `limit` samples (0: all), e.g. for quick runs.
  std::size_t limit = 0;
  // Intra-op threads of the training thread. One by default: data-parallel
  // ranks each take a core, and OpenMP teams collapse when the cores are
  // shared (measured 10x slower with 2 threads on 2 busy cores).
  int threads = 1;
  // When set (from any thread) training stops after the current step
  // (without a group also between evaluation batches); with a group, every
  // rank stops at the same step. A stopped epoch is reported without its
  // evaluation. A plain std::shared_ptr<std::atomic<bool>> converts.
  core::CancelToken stop;
  // The number of the first epoch of this run. A run resumed from a
  // checkpoint continues the numbering, and with it the shuffling (seeded
  // by epoch) and the learning-rate schedule, so that training E epochs in
  // one run or in several gives the same weights.
  int first_epoch = 1;
  // Epoch e trains at learning_rate * lr_decay^(e - 1) (exponential).
  double lr_decay = 1.0;
  LrSchedule schedule = LrSchedule::exponential;
  // The epochs a cosine schedule spans: the whole job's, so that a job run
  // one epoch at a time (or resumed) follows the curve of one run.
  int schedule_epochs = 0;
  // The optimizer's state to continue from (TrainResult::optimizer_state of
  // an earlier run of the same model and optimizer); empty: a fresh one.
  std::string optimizer_state;
  // Data-parallel through Engine::train: the group the ranks joined
  // (Engine::join_group), kept across runs (train_model takes the group
  // as an argument instead).
  std::shared_ptr<ProcessGroup> group;
};

struct TrainProgress {
  int epoch = 0;  // 1-based
  std::size_t step = 0;
  std::size_t steps = 0;  // per epoch
  double loss = 0.0;      // mean over the epoch's steps so far (all ranks)
};

struct EpochReport {
  int epoch = 0;
  double loss = 0.0;      // mean training loss (all ranks)
  double accuracy = 0.0;  // on the held-out data (all ranks), in [0, 1]
  std::size_t samples = 0;  // trained on, all ranks
  std::size_t evaluated = 0;
  double seconds = 0.0;             // training time of the epoch (evaluation excluded)
  double sync_seconds = 0.0;        // of which waiting in gradient all-reduces
  double images_per_second = 0.0;   // all ranks
};

// Called on the training thread (Executor::train posts them to the loop).
struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;
  std::function<void(const EpochReport&)> on_epoch;
  std::size_t progress_every = 50;  // steps
};

struct TrainResult {
  std::vector<EpochReport> epochs;
  bool stopped = false;
  double images_per_second = 0.0;  // over all epochs, all ranks
  // The optimizer's state after the last step, for TrainOptions::
  // optimizer_state of a run that continues this one.
  std::string optimizer_state;
};

// The learning rate `options` gives a step taken after `done` epochs of
// training (epoch e's steps fall in [e - 1, e)): the schedule's curve.
double scheduled_learning_rate(const TrainOptions& options, double done);

// Trains `model` in place (pass a clone of a shared model). `eval` may be
// null (then a held-out split is used). With `group`, every rank calls this
// with its own shard of the data and the same options; weights start from
// rank 0's and stay identical on every rank. Throws TrainingError /
// DatasetError / ModelError.
TrainResult train_model(Model& model, const Dataset& train, const Dataset* eval, const TrainOptions& options,
                        const TrainCallbacks& callbacks = {}, ProcessGroup* group = nullptr);

}  // namespace idunno::ml
