#pragma once
// The ML engine as the node sees it: a torch-free interface to the executor
// (models, inference, training on the ML pool), implemented by ml::Executor
// in the LibTorch module and reached through load_engine()
// (engine_loader.hpp).
//
// Why: LibTorch takes most of a second to load (its static initialisers),
// so the node must not link it: it loads the engine only once its options
// are valid and it is really starting, and a node built without ML
// (-DIDUNNO_BUILD_ML=OFF) has none. Everything here is plain C++ and
// declarations of torch-free headers; the implementations live in the
// module.
//
// Owned by the node's executor service; touch only from the event loop. The
// pool it was created on must outlive it.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "ml/base/batch.hpp"
#include "ml/base/dataset.hpp"
#include "ml/base/model_info.hpp"
#include "ml/base/results.hpp"
#include "ml/model.hpp"
#include "ml/process_group.hpp"
#include "ml/trainer.hpp"

namespace idunno::core {
class ThreadPool;
}

namespace idunno::ml {

// The results of one shard: the text lines to store, in query order.
struct ShardResult {
  std::string text;  // format_results of every query; same shard -> same bytes
  std::size_t queries = 0;
  std::size_t labelled = 0;
  std::size_t correct = 0;
  std::vector<std::chrono::nanoseconds> batch_times;  // one per batch
};

// What /metrics shows of the engine.
struct EngineStats {
  std::size_t slots = 0;           // one per ML pool thread
  std::size_t slots_in_use = 0;    // by inference batches and training runs
  std::size_t queued = 0;          // waiting for slots
  std::size_t batches = 0;         // inference batches run so far
  std::size_t wide_batches = 0;    // of them, batches that ran wide
  std::size_t training_runs = 0;   // running now
  // Jobs queued or running on the engine's own threads, outside the ML
  // pool (the wide thread: wide batches, multi-threaded training runs).
  std::size_t own_thread_jobs = 0;
};

// Cancellation, for every awaitable below: cancelling the awaiting coroutine
// (TaskGroup, with_timeout), or stop(), stops the work at its next step
// boundary (a batch not yet started is dropped; a training run stops after
// its current step or evaluation batch); the coroutine resumes only after
// the work has stopped touching its inputs, with
// system_error(operation_aborted). (TrainOptions::stop, the caller's own
// flag, instead ends training with the model so far and
// TrainResult::stopped.)
class Engine {
 public:
  virtual ~Engine() = default;

  // The zoo plus every model loaded so far (the `models` command).
  virtual std::vector<ModelInfo> models() const = 0;

  // A zoo model built from `seed`, cached under "zoo:NAME:SEED".
  virtual boost::asio::awaitable<ModelPtr> zoo_model(std::string name, std::uint64_t seed) = 0;
  // A TorchScript model from bytes (e.g. an SDFS file), cached under `key`.
  virtual boost::asio::awaitable<ModelPtr> load_model(std::string key, std::string bytes, LoadOptions options) = 0;
  // The cached model under `key`, or null.
  virtual ModelPtr cached(const std::string& key) = 0;

  // Samples [begin, end) (local indices) of `dataset`, one batch.
  virtual boost::asio::awaitable<BatchResult> infer(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                                    std::size_t end) = 0;
  // One batch already preprocessed (online inference): every class's
  // probability per query. Takes an executor slot like any batch, first
  // come first served with the batches of jobs.
  virtual boost::asio::awaitable<BatchScores> classify(ModelPtr model, Batch batch) = 0;
  // Samples [begin, end) in batches of `batch_size`, up to `in_flight` at
  // once; results in query order.
  virtual boost::asio::awaitable<ShardResult> infer_shard(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                                          std::size_t end, std::size_t batch_size,
                                                          std::size_t in_flight) = 0;
  // Trains a clone of `start`, holding max(1, options.threads) slots;
  // callbacks run on the awaiting coroutine's executor.
  virtual boost::asio::awaitable<std::pair<ModelPtr, TrainResult>> train(ModelPtr start, DatasetPtr train_set,
                                                                         DatasetPtr eval_set, TrainOptions options,
                                                                         TrainCallbacks callbacks) = 0;

  // The TorchScript bytes of `model` (with IDunno's metadata; Python's
  // torch.jit.load reads them), serialized on the ML pool.
  virtual boost::asio::awaitable<std::string> save_model(ModelPtr model) = 0;
  // Joins a data-parallel training group (blocks a pool thread until every
  // rank has joined, or the group's timeout: TrainingError), for
  // TrainOptions::group of the rank's train() runs.
  virtual boost::asio::awaitable<std::shared_ptr<ProcessGroup>> join_group(GroupOptions options) = 0;

  virtual EngineStats stats() const = 0;

  // Refuses new work, cancels every forward pass and training run of this
  // engine's pools and waits until their work has stopped, or `deadline`;
  // true when it stopped in time.
  virtual boost::asio::awaitable<bool> stop(std::chrono::steady_clock::time_point deadline) = 0;
};

// What the module's factory gets. A plain struct passed by pointer through
// the C entry point.
struct EngineRequest {
  core::ThreadPool* pool = nullptr;  // the ML pool
  core::MlSection ml;
};

// Bumped whenever Engine, EngineRequest or the types they use change, so a
// stale module beside a new binary is refused instead of misbehaving.
inline constexpr int kEngineAbi = 5;

// What the module and the node compare: kEngineAbi and the sizes of the
// types that cross between them, so that a field added without a bump
// (a module left from an earlier build of the same tree: a node that
// passed it a TrainOptions of another layout hung in train()) is refused
// too.
inline constexpr int engine_abi() {
  std::uint64_t h = kEngineAbi;
  for (const std::uint64_t size :
       {sizeof(TrainOptions), sizeof(TrainResult), sizeof(TrainCallbacks), sizeof(EpochReport), sizeof(ShardResult),
        sizeof(EngineStats), sizeof(EngineRequest), sizeof(GroupOptions), sizeof(LoadOptions), sizeof(ModelInfo),
        sizeof(Batch), sizeof(BatchResult), sizeof(BatchScores), sizeof(core::MlSection)}) {
    h = (h * 1'000'003 + size) % 1'000'000'007;
  }
  return static_cast<int>(h);
}

// The module's C entry points (engine_module.cpp).
using EngineAbiFn = int (*)();
using CreateEngineFn = Engine* (*)(const EngineRequest* request, std::string* error);
inline constexpr const char* kEngineAbiSymbol = "idunno_ml_engine_abi";
inline constexpr const char* kCreateEngineSymbol = "idunno_ml_create_engine";

}  // namespace idunno::ml
