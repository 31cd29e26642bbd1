// Inference throughput of the ML executor against bare LibTorch forward
// loops on the same model, batch and threads, in one process and one run.
// Prints name=value lines (bench/ml.sh runs it).
//
// Executor: a pool of T threads (T = cores unless --threads), LibTorch
// intra-op threads 1 each, T batches in flight from T coroutines on an
// io_context, results (softmax, label, score) returned to the loop.
// The model is prepared for serving as the executor's cache prepares it
// (Model::prepare_for_serving: max pools through the engine's operator).
// Baselines, both on the same served TorchScript module under InferenceMode:
//   bare_threads: T long-lived plain threads each running module.forward in
//                 a loop with 1 intra-op thread (the executor's layout,
//                 minus the executor);
//   bare_threads_plain_module: bare_threads on the model's module as saved,
//                 unprepared (LibTorch's own max_pool2d), to show what the
//                 preparation gains;
//   bare_intraop: one thread running module.forward with T intra-op threads
//                 (a fresh thread, and so a fresh OpenMP team, per
//                 measurement).
// With --images PATH (an IDX file, gzip or plain) every case whose model
// takes that file's images also measures, in the same rounds:
//   bare_threads_real: bare_threads on a batch of the file's first images
//                      (the synthetic batch is a ramp of pixel values, and
//                      real images take longer through the same model);
//   executor_shard_real: the executor's infer_shard over the whole file,
//                      a fresh batch per forward pass, as a worker runs a
//                      shard.
// All of them allocate tensors through the same allocator: the executor
// installs the node's tensor cache (ml.tensor_cache_mb) for the whole
// process before anything runs; --tensor-cache-mb 0 keeps LibTorch's own.
// ratio_vs_libtorch = executor / the better baseline in images per wall
// second; cpu_ratio_vs_libtorch the same in images per CPU second of the
// process (robust to other load on a shared host). Rounds interleave the
// three (the executor first in odd rounds, second in even ones) so that
// background load hits each alike; each keeps its best round.
// Options: --threads T, --rounds R, --scale S (measurement time factor),
// --verbose 1 (every round on stderr), --case MODEL_bBATCH (only that case,
// e.g. resnet18_b8), --intraop 0 (skip the intra-op baseline), --wide N
// (the executor's wide_batch_elements; 0 never runs a batch wide),
// --tensor-cache-mb N (the executor's tensor cache; 0: none), --in-flight N
// (batches the executor is given at once; default one per pool thread),
// --images PATH (see above).
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <condition_variable>
#include <mutex>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sys/resource.h>
#include <string>
#include <thread>
#include <vector>

#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "ml/executor.hpp"
#include "ml/inference.hpp"
#include "ml/model_impl.hpp"
#include "ml/tensor_allocator.hpp"
#include "ml/base/batch.hpp"
#include "ml/base/dataset.hpp"
#include "ml/zoo.hpp"

namespace {

namespace asio = boost::asio;
using namespace idunno;
using Clock = std::chrono::steady_clock;

struct Case {
  std::string model;
  std::size_t batch;
  double seconds;  // per measurement
};

ml::Batch random_batch(const ml::ImageShape& shape, std::size_t n) {
  ml::Batch batch;
  batch.shape = shape;
  batch.values.resize(n * static_cast<std::size_t>(shape.elements()));
  for (std::size_t i = 0; i < batch.values.size(); ++i) batch.values[i] = static_cast<float>(i % 255) / 255.0F;
  for (std::size_t i = 0; i < n; ++i) {
    batch.indices.push_back(static_cast<std::int64_t>(i));
    batch.labels.push_back(-1);
  }
  return batch;
}

// CPU time of the whole process (every thread), in seconds.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A measurement: images per wall-clock second, and per CPU second used by
// the process (less sensitive to other load on a shared machine).
struct Rate {
  double wall = 0;
  double cpu = 0;
};

// Images per second of `images` done between `start` and now.
Rate rate_since(std::size_t images, Clock::time_point start, double cpu_start) {
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  return {static_cast<double>(images) / wall, cpu > 0 ? static_cast<double>(images) / cpu : 0.0};
}

Rate best(Rate a, Rate b) { return {std::max(a.wall, b.wall), std::max(a.cpu, b.cpu)}; }

at::Tensor to_tensor(const ml::Batch& batch) {
  const auto& s = batch.shape;
  return at::from_blob(const_cast<float*>(batch.values.data()),
                       {static_cast<std::int64_t>(batch.size()), s.channels, s.height, s.width}, at::kFloat)
      .clone();
}

// Bare LibTorch: `threads` long-lived plain threads (like the executor's
// pool), each set once to `intra` intra-op threads, running module.forward
// in a loop when measure() asks.
class BareThreads {
 public:
  BareThreads(int threads, int intra) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, intra] { loop(intra); });
  }
  ~BareThreads() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  BareThreads(const BareThreads&) = delete;
  BareThreads& operator=(const BareThreads&) = delete;

  // plain: the module as saved, not the one prepared for serving.
  Rate measure(const ml::Model& model, const ml::Batch& batch, double seconds, bool plain = false) {
    std::unique_lock lock(mutex_);
    model_ = &model;
    plain_ = plain;
    batch_ = &batch;
    images_ = 0;
    running_ = threads_.size();
    const double cpu_start = cpu_seconds();
    const auto start = Clock::now();
    deadline_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [this] { return running_ == 0; });
    return rate_since(images_, start, cpu_start);
  }

 private:
  void loop(int intra) {
    ml::set_torch_thread_count(intra);  // as the executor's threads do
    std::uint64_t seen = 0;
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      const ml::Model& model = *model_;
      const bool plain = plain_;
      const at::Tensor input = to_tensor(*batch_);
      const auto deadline = deadline_;
      lock.unlock();
      std::size_t images = 0;
      {
        c10::InferenceMode guard;
        auto& module = plain ? model.impl().module : model.impl().inference_module();
        while (Clock::now() < deadline) images += static_cast<std::size_t>(module.forward({input}).toTensor().size(0));
      }
      lock.lock();
      images_ += images;
      if (--running_ == 0) done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  std::uint64_t generation_ = 0;
  std::size_t running_ = 0;
  std::size_t images_ = 0;
  const ml::Model* model_ = nullptr;
  bool plain_ = false;
  const ml::Batch* batch_ = nullptr;
  Clock::time_point deadline_;
};

// Images per second of `work(until, &images)`, a coroutine run on a fresh
// io_context that counts what it did until `until`, `seconds` from now.
template <typename Work>
Rate images_per_s_on_a_loop(double seconds, Work work) {
  asio::io_context io;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  std::size_t images = 0;
  auto done = asio::co_spawn(io, work(until, &images), asio::use_future);
  io.run();
  done.get();
  return rate_since(images, start, cpu_start);
}

// `in_flight` coroutines each awaiting infer() of the same batch in a loop.
asio::awaitable<void> infer_loops(ml::Executor* ex, ml::ModelPtr m, std::shared_ptr<const ml::Batch> b, std::size_t n,
                                  Clock::time_point until, std::size_t* count) {
  core::TaskGroup group(co_await asio::this_coro::executor, "bench");
  for (std::size_t i = 0; i < n; ++i) {
    group.spawn([](ml::Executor* e, ml::ModelPtr mm, std::shared_ptr<const ml::Batch> bb, Clock::time_point u,
                   std::size_t* c) -> asio::awaitable<void> {
      while (Clock::now() < u) {
        const auto result = co_await e->infer(mm, bb);
        *c += result.predictions.size();
      }
    }(ex, m, b, until, count));
  }
  co_await group.join();
}

// infer_shard over `d` in shards of 8 batches, walking the file, again and
// again, as a worker runs its shards (a fresh batch per forward pass).
asio::awaitable<void> shard_loop(ml::Executor* ex, ml::ModelPtr m, ml::DatasetPtr d, std::size_t b, std::size_t n,
                                 Clock::time_point until, std::size_t* count) {
  const std::size_t shard = std::min(d->size(), b * 8);
  for (std::size_t begin = 0; Clock::now() < until; begin = begin + 2 * shard > d->size() ? 0 : begin + shard) {
    auto pending = ex->infer_shard(m, d, begin, begin + shard, b, n);
    const ml::ShardResult result = co_await std::move(pending);
    *count += result.queries;
  }
}

Rate executor_images_per_s(ml::Executor& executor, const ml::ModelPtr& model, std::shared_ptr<const ml::Batch> batch,
                           std::size_t in_flight, double seconds) {
  return images_per_s_on_a_loop(seconds, [&](Clock::time_point until, std::size_t* count) {
    return infer_loops(&executor, model, batch, in_flight, until, count);
  });
}

Rate shard_images_per_s(ml::Executor& executor, const ml::ModelPtr& model, const ml::DatasetPtr& data,
                        std::size_t batch, std::size_t in_flight, double seconds) {
  return images_per_s_on_a_loop(seconds, [&](Clock::time_point until, std::size_t* count) {
    return shard_loop(&executor, model, data, batch, in_flight, until, count);
  });
}

std::string key(const Case& c) {
  std::string name = c.model;
  for (auto& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name + "_b" + std::to_string(c.batch);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  int rounds = 3;
  double scale = 1.0;
  bool verbose = false;
  std::string only;  // run just this case (e.g. resnet18_b8)
  std::string images_path;
  bool intraop = true;  // also measure the intra-op baseline
  long long wide = -1;  // executor's wide_batch_elements; -1: its default
  long long tensor_cache_mb = -1;  // -1: the executor's default
  std::size_t in_flight = 0;  // batches awaited at once; 0: one per thread
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--scale") == 0) scale = std::stod(argv[i + 1]);
    if (std::strcmp(argv[i], "--verbose") == 0) verbose = std::strcmp(argv[i + 1], "1") == 0;
    if (std::strcmp(argv[i], "--case") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--intraop") == 0) intraop = std::strcmp(argv[i + 1], "1") == 0;
    if (std::strcmp(argv[i], "--wide") == 0) wide = std::stoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--tensor-cache-mb") == 0) tensor_cache_mb = std::stoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--in-flight") == 0) in_flight = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--images") == 0) images_path = argv[i + 1];
  }
  const std::vector<Case> cases{{"lenet", 1, 2.0},         {"lenet", 16, 2.0},   {"lenet", 64, 2.0},
                                {"resnet-fmnist", 16, 3.0}, {"resnet18", 1, 6.0}, {"resnet18", 8, 10.0}};
  if (in_flight == 0) in_flight = static_cast<std::size_t>(threads);
  core::ThreadPool pool(static_cast<std::size_t>(threads));
  ml::ExecutorOptions options;
  options.intra_op_threads = 1;
  if (wide >= 0) options.wide_batch_elements = static_cast<std::size_t>(wide);
  // As the node sizes it: ml.tensor_cache_mb, its default unless given.
  core::MlSection section;
  if (tensor_cache_mb >= 0) section.tensor_cache_mb = static_cast<int>(tensor_cache_mb);
  options.tensor_cache_bytes = ml::executor_options(section).tensor_cache_bytes;
  ml::set_torch_interop_threads(1);
  ml::Executor executor(pool, options);
  BareThreads bare_threads(threads, 1);
  // One intra-op measurement on a thread of its own (see the top).
  const auto intraop_rate = [threads](const ml::Model& m, const ml::Batch& b, double seconds) {
    BareThreads one(1, threads);
    return one.measure(m, b, seconds);
  };
  const ml::DatasetPtr images = images_path.empty() ? nullptr : ml::open_dataset(images_path);
  std::printf("threads=%d\nrounds=%d\ntensor_cache_mb=%zu\n", threads, rounds, ml::tensor_cache_stats().limit_bytes >> 20);
  for (const auto& c : cases) {
    if (!only.empty() && key(c) != only) continue;
    const auto built = ml::make_zoo_model(c.model, 1);
    const std::size_t fast_pools = built->prepare_for_serving();
    const ml::ModelPtr model = built;
    const auto shared = std::make_shared<const ml::Batch>(random_batch(model->info().input, c.batch));
    const ml::Batch& batch = *shared;
    const bool real = images && images->sample_shape() == model->info().input && images->size() >= c.batch;
    const auto real_batch =
        real ? std::make_shared<const ml::Batch>(ml::make_batch(*images, 0, c.batch, model->info())) : nullptr;
    // Warm both paths (profiling executor, allocator, OpenMP teams).
    bare_threads.measure(*model, batch, 0.3 * scale);
    if (real) {
      bare_threads.measure(*model, *real_batch, 0.3 * scale);
      shard_images_per_s(executor, model, images, c.batch, in_flight, 0.3 * scale);
    }
    if (intraop) intraop_rate(*model, batch, 0.3 * scale);
    executor_images_per_s(executor, model, shared, in_flight, 0.3 * scale);
    bare_threads.measure(*model, batch, 0.3 * scale, /*plain=*/true);
    Rate best_exec, best_threads, best_intra, best_real, best_shard, best_plain;
    const double seconds = c.seconds * scale;
    for (int r = 0; r < rounds; ++r) {
      // Odd rounds run the executor (and the real-image loop) first, so
      // that neither side always follows the other.
      Rate exec;
      Rate real_rate;
      if (r % 2 == 1) exec = executor_images_per_s(executor, model, shared, in_flight, seconds);
      if (real && r % 2 == 1) real_rate = bare_threads.measure(*model, *real_batch, seconds);
      const Rate threads_rate = bare_threads.measure(*model, batch, seconds);
      if (r % 2 == 0) exec = executor_images_per_s(executor, model, shared, in_flight, seconds);
      if (real && r % 2 == 0) real_rate = bare_threads.measure(*model, *real_batch, seconds);
      const Rate intra_rate = intraop ? intraop_rate(*model, batch, seconds) : Rate{};
      best_plain = best(best_plain, bare_threads.measure(*model, batch, seconds, /*plain=*/true));
      const Rate shard_rate = real ? shard_images_per_s(executor, model, images, c.batch, in_flight, seconds) : Rate{};
      best_real = best(best_real, real_rate);
      best_shard = best(best_shard, shard_rate);
      if (verbose) {
        std::fprintf(stderr,
                     "%s round %d: bare_threads=%.1f executor=%.1f bare_intraop=%.1f bare_threads_real=%.1f "
                     "executor_shard_real=%.1f (per cpu-s %.1f %.1f %.1f %.1f %.1f)\n",
                     key(c).c_str(), r, threads_rate.wall, exec.wall, intra_rate.wall, real_rate.wall, shard_rate.wall,
                     threads_rate.cpu, exec.cpu, intra_rate.cpu, real_rate.cpu, shard_rate.cpu);
      }
      best_threads = best(best_threads, threads_rate);
      best_exec = best(best_exec, exec);
      best_intra = best(best_intra, intra_rate);
    }
    const std::string k = key(c);
    std::printf("infer_%s_executor_images_per_s=%.1f\n", k.c_str(), best_exec.wall);
    std::printf("infer_%s_bare_threads_images_per_s=%.1f\n", k.c_str(), best_threads.wall);
    std::printf("infer_%s_bare_intraop_images_per_s=%.1f\n", k.c_str(), best_intra.wall);
    std::printf("infer_%s_fast_pools=%zu\n", k.c_str(), fast_pools);
    std::printf("infer_%s_bare_threads_plain_module_images_per_s=%.1f\n", k.c_str(), best_plain.wall);
    std::printf("infer_%s_served_vs_plain_module=%.3f\n", k.c_str(), best_threads.wall / best_plain.wall);
    std::printf("infer_%s_ratio_vs_libtorch=%.3f\n", k.c_str(), best_exec.wall / std::max(best_threads.wall, best_intra.wall));
    std::printf("infer_%s_cpu_ratio_vs_libtorch=%.3f\n", k.c_str(), best_exec.cpu / std::max(best_threads.cpu, best_intra.cpu));
    if (real) {
      std::printf("infer_%s_bare_threads_real_images_per_s=%.1f\n", k.c_str(), best_real.wall);
      std::printf("infer_%s_executor_shard_real_images_per_s=%.1f\n", k.c_str(), best_shard.wall);
      std::printf("infer_%s_real_vs_synthetic=%.3f\n", k.c_str(), best_real.wall / best_threads.wall);
      std::printf("infer_%s_shard_ratio_vs_libtorch_real=%.3f\n", k.c_str(), best_shard.wall / best_real.wall);
    }
    std::fflush(stdout);
  }
  return 0;
}
