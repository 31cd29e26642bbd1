#pragma once
// The node's ML executor: every forward pass, model load and training run of
// every job goes through it onto one shared thread pool, and comes back to
// the event loop as an awaitable, so the loop never blocks on LibTorch.
//
// Threads are set on purpose: the pool has one thread per core (ml.threads)
// and each pool thread runs LibTorch with `intra_op_threads` (default 1), so
// concurrent batches of different jobs use the cores without
// oversubscription. Optionally (ml.wide_batch_floats) a large batch runs
// "wide", for a shorter latency at some cost in throughput: on the
// executor's own wide thread (always the same one, so only one more OpenMP
// team exists), with as many LibTorch intra-op threads as the pool, while
// no other inference batch runs. Inference batches take the pool's slots
// first come, first served (core::SlotGate: one each, a wide one all of
// them), so a wide batch is neither starved nor shares the cores with other
// batches. A training run takes max(1, TrainOptions::threads) slots for its
// whole length, so inference queues behind it rather than oversubscribing
// the cores; with more than one thread it runs on the wide thread too, so
// that with intra_op_threads = 1 the process holds one OpenMP team however
// many runs it made (libgomp shortens its spin-wait to almost nothing once
// it manages more threads than cores). Two such runs that both fit in the
// slots therefore take turns (a node is in one training group at a time).
// Model loads take no slots. Loaded models are cached under a key,
// bounded by ml.model_cache_mb, and warmed up on load.
//
// Cancellation (engine.hpp): every pool job is cancellable; a batch not yet
// started is dropped, a training run stops between steps (and between
// evaluation batches), and stop() cancels everything and waits for the
// pool and the wide thread. It implements the node's torch-free ml::Engine interface.
//
// Constructed with a tensor cache limit (as the node does, from
// ml.tensor_cache_mb), it installs the process's tensor cache
// (tensor_allocator.hpp; an installed one takes the new limit): construct
// it before LibTorch runs on any other thread.
//
// Owned by the Node; touch it only from the event loop. It must outlive
// every coroutine that awaits it, and the pool must outlive it.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/slot_gate.hpp"
#include "core/thread_pool.hpp"
#include "ml/base/batch.hpp"
#include "ml/base/dataset.hpp"
#include "ml/model.hpp"
#include "ml/model_cache.hpp"
#include "ml/base/results.hpp"
#include "ml/engine/engine.hpp"
#include "ml/trainer.hpp"

namespace idunno::ml {

struct ExecutorOptions {
  int intra_op_threads = 1;  // LibTorch threads per pool thread
  int inter_op_threads = 1;  // process-wide, set once
  std::size_t model_cache_bytes = std::size_t{512} << 20;
  int warm_up_runs = 2;  // forward passes on load
  // A batch whose input has at least this many floats runs wide (alone,
  // all pool threads intra-op); 0: never (ml.wide_batch_floats).
  std::size_t wide_batch_elements = 0;
  // Installs the process's tensor cache with this limit (ml.tensor_cache_mb;
  // tensor_allocator.hpp; 0: none); unset: leaves it as it is.
  std::optional<std::size_t> tensor_cache_bytes = std::nullopt;
};

// From the [ml] section (model_cache_mb). The pool itself is sized by
// ml.threads: core::ThreadPool pool(config.ml.threads).
ExecutorOptions executor_options(const core::MlSection& ml);

class Executor final : public Engine {
 public:
  Executor(core::ThreadPool& pool, ExecutorOptions options);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // A zoo model built from `seed`, cached under "zoo:NAME:SEED".
  boost::asio::awaitable<ModelPtr> zoo_model(std::string name, std::uint64_t seed = 0) override;
  // A TorchScript model from bytes (e.g. an SDFS file), cached under `key`
  // (include the version in it). Validated and warmed up on the pool.
  boost::asio::awaitable<ModelPtr> load_model(std::string key, std::string bytes, LoadOptions options) override;
  // The cached model under `key`, or null.
  ModelPtr cached(const std::string& key) override;
  // Caches and lists a model made here (e.g. just trained) under `key`.
  ModelPtr add_model(const std::string& key, ModelPtr model);

  // The zoo plus every model loaded so far (the `models` command), in name
  // order after the zoo.
  std::vector<ModelInfo> models() const override;

  // One batch, already preprocessed.
  boost::asio::awaitable<BatchResult> infer(ModelPtr model, Batch batch);
  // The same for a batch that is kept and run again (no copy).
  boost::asio::awaitable<BatchResult> infer(ModelPtr model, std::shared_ptr<const Batch> batch);
  // One batch, already preprocessed: every class's probability per query.
  boost::asio::awaitable<BatchScores> classify(ModelPtr model, Batch batch) override;
  // Samples [begin, end) (local indices) of `dataset`, preprocessed on the pool.
  boost::asio::awaitable<BatchResult> infer(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                            std::size_t end) override;
  // Samples [begin, end) in batches of `batch_size`, up to `in_flight`
  // batches at once on the pool; results in query order.
  boost::asio::awaitable<ShardResult> infer_shard(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                                  std::size_t end, std::size_t batch_size,
                                                  std::size_t in_flight = 1) override;

  // Trains a clone of `start` on the pool, holding max(1, options.threads)
  // slots, and returns it. Callbacks run on the awaiting coroutine's
  // executor. Stops between steps when the awaiter is cancelled (then
  // throws operation_aborted) or options.stop is set (then returns the
  // model so far with TrainResult::stopped).
  boost::asio::awaitable<std::pair<ModelPtr, TrainResult>> train(ModelPtr start, DatasetPtr train_set,
                                                                 DatasetPtr eval_set, TrainOptions options,
                                                                 TrainCallbacks callbacks) override;

  boost::asio::awaitable<std::string> save_model(ModelPtr model) override;
  boost::asio::awaitable<std::shared_ptr<ProcessGroup>> join_group(GroupOptions options) override;

  EngineStats stats() const override;
  boost::asio::awaitable<bool> stop(std::chrono::steady_clock::time_point deadline) override;

  core::ThreadPool& pool() { return pool_; }
  // Inference slots taken now, batches waiting for slots, batches run so
  // far and, of them, batches that ran wide (tests, metrics).
  std::size_t slots_in_use() const { return slots_->in_use(); }
  std::size_t queued_batches() const { return slots_->queued(); }
  std::size_t batches() const { return batches_; }
  std::size_t wide_batches() const { return wide_batches_; }
  std::size_t training_runs() const { return training_runs_; }
  ModelCache& cache() { return cache_; }
  const ExecutorOptions& options() const { return options_; }

 private:
  // Runs work() -> BatchResult (or BatchScores) on the pool for a batch of
  // `input_elements` floats, narrow or wide.
  template <typename Result, typename Work>
  boost::asio::awaitable<Result> run_inference(std::size_t input_elements, Work work);

  core::ThreadPool& pool_;
  ExecutorOptions options_;
  ModelCache cache_;
  std::map<std::string, ModelInfo> loaded_;  // by model name
  std::shared_ptr<core::SlotGate> slots_;  // one per pool thread
  // Runs every LibTorch run on more than one thread: wide batches (holding
  // every slot) and training runs with TrainOptions::threads > 1.
  std::unique_ptr<core::ThreadPool> wide_thread_;
  std::size_t batches_ = 0;
  std::size_t wide_batches_ = 0;
  std::size_t training_runs_ = 0;
  bool stopping_ = false;
};

}  // namespace idunno::ml
