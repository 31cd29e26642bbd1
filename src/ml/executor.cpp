#include "ml/executor.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "ml/inference.hpp"
#include "ml/tensor_allocator.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {

namespace asio = boost::asio;

// Every pool job below is bound to a local and moved into pool_.run: GCC 12
// miscompiles a closure passed as a prvalue into a coroutine parameter
// inside co_await (its captures are destroyed twice).

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
      wide_thread_(options.wide_batch_elements > 0 ? std::make_unique<core::ThreadPool>(1) : nullptr) {
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
    auto built = make_zoo_model(name, seed);
    warm_up(*built, warm);
    return built;
  };
  ModelPtr model = co_await pool_.run(std::move(work));
  co_return add_model(key, std::move(model));
}

asio::awaitable<ModelPtr> Executor::load_model(std::string key, std::string bytes, LoadOptions options) {
  if (auto model = cache_.find(key)) co_return model;
  const int warm = options_.warm_up_runs;
  const int intra = options_.intra_op_threads;
  auto work = [bytes = std::move(bytes), options = std::move(options), warm, intra]() -> ModelPtr {
    set_torch_thread_count(intra);
    auto loaded = Model::load_bytes(bytes, options);
    warm_up(*loaded, warm);
    return loaded;
  };
  ModelPtr model = co_await pool_.run(std::move(work));
  co_return add_model(key, std::move(model));
}

std::vector<ModelInfo> Executor::models() const {
  auto out = zoo_models();
  for (const auto& [name, info] : loaded_) out.push_back(info);
  return out;
}

template <typename Work>
asio::awaitable<BatchResult> Executor::run_inference(std::size_t input_elements, Work work) {
  const int intra = options_.intra_op_threads;
  const bool wide = wide_thread_ && input_elements >= options_.wide_batch_elements && intra > 0 &&
                    static_cast<std::size_t>(intra) < pool_.size();
  const int threads = wide ? static_cast<int>(pool_.size()) : intra;
  const auto lease = co_await slots_->acquire(wide ? pool_.size() : 1);
  // Every job sets the layout it needs; a thread keeps its last one, so a
  // run of batches of one kind changes nothing.
  auto job = [work = std::move(work), threads] {
    set_torch_thread_count(threads);
    return work();
  };
  core::ThreadPool& runner = wide ? *wide_thread_ : pool_;
  BatchResult result = co_await runner.run(std::move(job));
  if (wide) ++wide_batches_;  // counted once it ran (a cancelled batch may hold slots, never run)
  co_return result;
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, Batch batch) {
  const std::size_t elements = batch.values.size();
  auto work = [model = std::move(model), batch = std::move(batch)] { return run_batch(*model, batch); };
  co_return co_await run_inference(elements, std::move(work));
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, std::shared_ptr<const Batch> batch) {
  const std::size_t elements = batch->values.size();
  auto work = [model = std::move(model), batch = std::move(batch)] { return run_batch(*model, *batch); };
  co_return co_await run_inference(elements, std::move(work));
}

asio::awaitable<BatchResult> Executor::infer(ModelPtr model, DatasetPtr dataset, std::size_t begin, std::size_t end) {
  const std::size_t elements =
      (end > begin ? end - begin : 0) * static_cast<std::size_t>(model->info().input.elements());
  auto work = [model = std::move(model), dataset = std::move(dataset), begin, end] {
    return run_batch(*model, make_batch(*dataset, begin, end, model->info()));
  };
  co_return co_await run_inference(elements, std::move(work));
}

asio::awaitable<ShardResult> Executor::infer_shard(ModelPtr model, DatasetPtr dataset, std::size_t begin,
                                                   std::size_t end, std::size_t batch_size, std::size_t in_flight) {
  if (batch_size == 0) batch_size = 1;
  if (in_flight == 0) in_flight = 1;
  const std::size_t batches = end > begin ? (end - begin + batch_size - 1) / batch_size : 0;
  // Shared by the workers below; they all finish before it goes away.
  struct State {
    std::vector<BatchResult> results;
    std::size_t next = 0;
    std::exception_ptr error;
  };
  auto state = std::make_shared<State>();
  state->results.resize(batches);
  core::TaskGroup workers(co_await asio::this_coro::executor, "infer_shard");
  for (std::size_t w = 0; w < std::min(in_flight, batches); ++w) {
    workers.spawn(
        [](Executor* self, ModelPtr m, DatasetPtr d, std::shared_ptr<State> s, std::size_t first, std::size_t last,
           std::size_t size) -> asio::awaitable<void> {
          while (!s->error && s->next < s->results.size()) {
            const std::size_t i = s->next++;
            const std::size_t lo = first + i * size;
            try {
              s->results[i] = co_await self->infer(m, d, lo, std::min(lo + size, last));
            } catch (...) {
              if (!s->error) s->error = std::current_exception();
            }
          }
        }(this, model, dataset, state, begin, end, batch_size),
        "infer_batch");
  }
  co_await workers.join();
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
  auto work = [start = std::move(start), train_set = std::move(train_set), eval_set = std::move(eval_set),
               options = std::move(options), posted = std::move(posted), intra]() -> std::pair<ModelPtr, TrainResult> {
    auto model = start->clone();
    TrainResult result = train_model(*model, *train_set, eval_set.get(), options, posted);
    set_torch_thread_count(intra);
    return {std::move(model), std::move(result)};
  };
  co_return co_await pool_.run(std::move(work));
}

}  // namespace idunno::ml
