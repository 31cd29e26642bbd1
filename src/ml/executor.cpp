#include "ml/executor.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "ml/inference.hpp"
#include "ml/process_group.hpp"
#include "ml/tensor_allocator.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {

namespace asio = boost::asio;

// Every pool job below is bound to a local and moved into pool_.run: GCC 12
// miscompiles a closure passed as a prvalue into a coroutine parameter
// inside co_await (its captures are destroyed twice).

namespace {

[[noreturn]] void throw_stopped() { throw boost::system::system_error(asio::error::operation_aborted); }

// Shared by the workers of one infer_shard; they all finish before it goes.
struct ShardState {
  std::vector<BatchResult> results;
  std::size_t next = 0;
  std::exception_ptr error;
};

// Takes the shard's next batch until none is left or one failed. Accepts
// total cancellation, so a cancelled shard stops taking batches.
asio::awaitable<void> shard_worker(Executor* self, ModelPtr model, DatasetPtr dataset, std::shared_ptr<ShardState> s,
                                   std::size_t first, std::size_t last, std::size_t size) {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  while (!s->error && s->next < s->results.size()) {
    const std::size_t i = s->next++;
    const std::size_t lo = first + i * size;
    try {
      s->results[i] = co_await self->infer(model, dataset, lo, std::min(lo + size, last));
    } catch (...) {
      if (!s->error) s->error = std::current_exception();
    }
  }
}

// Awaits every worker at once; cancelling the caller cancels all of them.
asio::awaitable<void> all_of(std::vector<asio::awaitable<void>> workers) {
  using namespace asio::experimental::awaitable_operators;
  if (workers.empty()) co_return;
  asio::awaitable<void> first = std::move(workers.back());
  workers.pop_back();
  if (workers.empty()) {
    co_await std::move(first);
  } else {
    co_await (std::move(first) && all_of(std::move(workers)));
  }
}

// A model the cache will hold, as every pool thread will run it: prepared
// for serving and warmed up on the calling (pool) thread.
ModelPtr ready_to_serve(std::shared_ptr<Model> model, int warm) {
  model->prepare_for_serving();
  warm_up(*model, warm);
  return model;
}

}  // namespace

ExecutorOptions executor_options(const core::MlSection& ml) {
  ExecutorOptions options;
  options.model_cache_bytes = static_cast<std::size_t>(std::max(ml.model_cache_mb, 1)) << 20;
  options.wide_batch_elements = static_cast<std::size_t>(std::max(ml.wide_batch_floats, 0LL));
  options.tensor_cache_bytes = static_cast<std::size_t>(std::max(ml.tensor_cache_mb, 0)) << 20;
  return options;
}

Executor::Executor(core::ThreadPool& pool, ExecutorOptions options)
    : pool_(pool),
      options_(options),
      cache_(options.model_cache_bytes),
      slots_(core::SlotGate::create(pool.size())),
      wide_thread_(std::make_unique<core::ThreadPool>(1, "ml-wide")) {
  if (options.tensor_cache_bytes) install_tensor_allocator(*options.tensor_cache_bytes);
  set_torch_interop_threads(options.inter_op_threads);
}

ModelPtr Executor::add_model(const std::string& key, ModelPtr model) {
  cache_.insert(key, model);
  if (model->info().source != ModelSource::zoo) loaded_[model->info().name] = model->info();
  spdlog::info("event=model_loaded key={} model={} input={} classes={} bytes={} cache_bytes={}", key,
               model->info().name, to_string(model->info().input), model->info().classes, model->memory_bytes(),
               cache_.bytes());
  return model;
}

ModelPtr Executor::cached(const std::string& key) { return cache_.find(key); }

asio::awaitable<ModelPtr> Executor::zoo_model(std::string name, std::uint64_t seed) {
  const std::string key = "zoo:" + name + ":" + std::to_string(seed);
  if (auto model = cache_.find(key)) co_return model;
  const int warm = options_.warm_up_runs;
  const int intra = options_.intra_op_threads;
  auto work = [name, seed, warm, intra]() -> ModelPtr {
    set_torch_thread_count(intra);
    return ready_to_serve(make_zoo_model(name, seed), warm);
  };
  if (stopping_) throw_stopped();
  auto job = [work = std::move(work)](const core::CancelToken&) { return work(); };
  ModelPtr model = co_await pool_.run_cancellable(std::move(job));
  co_return add_model(key, std::move(model));
}

asio::awaitable<ModelPtr> Executor::load_model(std::string key, std::string bytes, LoadOptions options) {
  if (auto model = cache_.find(key)) co_return model;
  const int warm = options_.warm_up_runs;
  const int intra = options_.intra_op_threads;
  auto work = [bytes = std::move(bytes), options = std::move(options), warm, intra]() -> ModelPtr {
    set_torch_thread_count(intra);
    return ready_to_serve(Model::load_bytes(bytes, options), warm);
  };
  if (stopping_) throw_stopped();
  auto job = [work = std::move(work)](const core::CancelToken&) { return work(); };
  ModelPtr model = co_await pool_.run_cancellable(std::move(job));
  co_return add_model(key, std::move(model));
}

std::vector<ModelInfo> Executor::models() const {
  auto out = zoo_models();
  for (const auto& [name, info] : loaded_) out.push_back(info);
  return out;
}

template <typename Result, typename Work>
asio::awaitable<Result> Executor::run_inference(std::size_t input_elements, Work work) {
  const int intra = options_.intra_op_threads;
  const bool wide = options_.wide_batch_elements > 0 && input_elements >= options_.wide_batch_elements && intra > 0 &&
                    static_cast<std::size_t>(intra) < pool_.size();
  const int threads = wide ? static_cast<int>(pool_.size()) : intra;
  if (stopping_) throw_stopped();
  const auto lease = co_await slots_->acquire(wide ? pool_.size() : 1);
  if (stopping_) throw_stopped();
  // Every job sets the layout it needs; a thread keeps its last one, so a
  // run of batches of one kind changes nothing. A forward pass cannot stop
  // halfway: a cancelled batch is dropped if it has not started.
  auto job = [work = std::move(work), threads](const core::CancelToken&) {
    set_torch_thread_count(threads);
    return work();
  };
  core::ThreadPool& runner = wide ? *wide_thread_ : pool_;
  Result result = co_await runner.run_cancellable(std::move(job));
  // Counted once it ran (a cancelled batch may hold slots, never run).
  ++batches_;
  if (wide) ++wide_batches_;
  co_return result;
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, Batch batch) {
  const std::size_t elements = batch.values.size();
  auto work = [model = std::move(model), batch = std::move(batch)] { return run_batch(*model, batch); };
  co_return co_await run_inference<BatchResult>(elements, std::move(work));
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, std::shared_ptr<const Batch> batch) {
  const std::size_t elements = batch->values.size();
  auto work = [model = std::move(model), batch = std::move(batch)] { return run_batch(*model, *batch); };
  co_return co_await run_inference<BatchResult>(elements, std::move(work));
}

asio::awaitable<BatchScores> Executor::classify(ModelPtr model, Batch batch) {
  const std::size_t elements = batch.values.size();
  auto work = [model = std::move(model), batch = std::move(batch)] { return run_scores(*model, batch); };
  co_return co_await run_inference<BatchScores>(elements, std::move(work));
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, DatasetPtr dataset, std::size_t begin, std::size_t end) {
  const std::size_t elements =
      (end > begin ? end - begin : 0) * static_cast<std::size_t>(model->info().input.elements());
  auto work = [model = std::move(model), dataset = std::move(dataset), begin, end] {
    return run_batch(*model, make_batch(*dataset, begin, end, model->info()));
  };
  co_return co_await run_inference<BatchResult>(elements, std::move(work));
}

asio::awaitable<ShardResult> Executor::infer_shard(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                                   std::size_t end, std::size_t batch_size, std::size_t in_flight) {
  if (batch_size == 0) batch_size = 1;
  if (in_flight == 0) in_flight = 1;
  const std::size_t batches = end > begin ? (end - begin + batch_size - 1) / batch_size : 0;
  auto state = std::make_shared<ShardState>();
  state->results.resize(batches);
  std::vector<asio::awaitable<void>> workers;
  for (std::size_t w = 0; w < std::min(in_flight, batches); ++w) {
    workers.push_back(shard_worker(this, model, dataset, state, begin, end, batch_size));
  }
  co_await all_of(std::move(workers));
  if (state->error) std::rethrow_exception(state->error);
  ShardResult shard;
  for (const auto& result : state->results) {
    append_results(shard.text, result.predictions);
    shard.queries += result.predictions.size();
    shard.labelled += result.labelled;
    shard.correct += result.correct;
    shard.batch_times.push_back(result.processing_time);
  }
  co_return shard;
}

asio::awaitable<std::pair<ModelPtr, TrainResult>> Executor::train(ModelPtr start, DatasetPtr train_set,
                                                                  DatasetPtr eval_set, TrainOptions options,
                                                                  TrainCallbacks callbacks) {
  auto loop = co_await asio::this_coro::executor;
  // Callbacks hop back to the loop; the training thread never runs them.
  TrainCallbacks posted;
  posted.progress_every = callbacks.progress_every;
  if (callbacks.on_progress) {
    posted.on_progress = [loop, cb = callbacks.on_progress](const TrainProgress& p) { asio::post(loop, [cb, p] { cb(p); }); };
  }
  if (callbacks.on_epoch) {
    posted.on_epoch = [loop, cb = callbacks.on_epoch](const EpochReport& r) { asio::post(loop, [cb, r] { cb(r); }); };
  }

  const int intra = options_.intra_op_threads;
  // A run on several LibTorch threads goes to the wide thread, as wide
  // batches do: libgomp keeps one team per thread that ever ran a parallel
  // region, and once it manages more threads than there are cores it cuts
  // its spin-wait short, so every parallel region wakes its workers through
  // the kernel. A second training run on another pool thread was 0.7 of the
  // first (lenet, 3,386-3,395 against 4,760 images/s).
  const bool wide = options.threads > 1;
  if (stopping_) throw_stopped();
  const auto lease = co_await slots_->acquire(static_cast<std::size_t>(std::max(1, options.threads)));
  if (stopping_) throw_stopped();
  // The run stops between steps when the caller's flag or the pool's token
  // is set; the pool's (a cancelled awaiter, stop()) makes it throw.
  auto work = [start = std::move(start), train_set = std::move(train_set), eval_set = std::move(eval_set),
               options = std::move(options), posted = std::move(posted),
               intra](const core::CancelToken& token) mutable -> std::pair<ModelPtr, TrainResult> {
    options.stop = options.stop.either(token);
    auto model = start->clone();
    TrainResult result = train_model(*model, *train_set, eval_set.get(), options, posted, options.group.get());
    set_torch_thread_count(intra);
    token.throw_if_stop_requested();
    return {std::move(model), std::move(result)};
  };
  ++training_runs_;
  struct Running {
    std::size_t& count;
    ~Running() { --count; }
  } running{training_runs_};
  core::ThreadPool& runner = wide ? *wide_thread_ : pool_;
  co_return co_await runner.run_cancellable(std::move(work));
}

asio::awaitable<std::shared_ptr<ProcessGroup>> Executor::join_group(GroupOptions options) {
  if (stopping_) throw_stopped();
  auto work = [options = std::move(options)] { return std::make_shared<ProcessGroup>(options); };
  std::shared_ptr<ProcessGroup> group = co_await pool_.run(std::move(work));
  co_return group;
}

asio::awaitable<std::string> Executor::save_model(ModelPtr model) {
  if (stopping_) throw_stopped();
  auto work = [model = std::move(model)] { return model->save_bytes(); };
  co_return co_await pool_.run(std::move(work));
}

EngineStats Executor::stats() const {
  return EngineStats{slots_->capacity(), slots_->in_use(), slots_->queued(),      batches_,
                     wide_batches_,      training_runs_,   wide_thread_->active()};
}

asio::awaitable<bool> Executor::stop(std::chrono::steady_clock::time_point deadline) {
  stopping_ = true;
  pool_.cancel_all();
  wide_thread_->cancel_all();
  bool idle = co_await pool_.wait_idle(deadline);
  idle = co_await wide_thread_->wait_idle(deadline) && idle;
  spdlog::info("event=ml_engine_stopped idle={}", idle);
  co_return idle;
}

}  // namespace idunno::ml
