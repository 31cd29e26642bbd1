// idunno-train-worker: one rank of a (data-parallel) training run as its own
// process. Used by the multi-process tests and the benchmark, and usable by
// hand:
//
//   idunno-train-worker --model lenet --data train-images-idx3-ubyte.gz
//       [--eval t10k-images-idx3-ubyte.gz] [--epochs 1] [--batch 64] [--lr 0.01]
//       [--optimizer sgd|adam] [--seed 0] [--limit N] [--threads T]
//       [--lr-decay D | --cosine 1] [--weight-decay W] [--flip 1] [--shift PIXELS]
//       (each rank trains on its own contiguous shard of the first N samples)
//       [--rank R --world K (--store FILE | --host H --port P)]
//       [--out model.pt] [--state-out weights.f32]
//       [--results results.txt [--infer-batch 64]] [--tensor-cache-mb 1024]
//
// --results runs the trained model over the whole --eval set through the
// node's inference executor (its thread pool, awaited from an event loop)
// and writes one "INDEX LABEL SCORE" line per query (rank 0 only).
//
// Prints one name=value line per epoch and a summary; exit 0 on success,
// 1 on a training error, 2 on a usage error.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "ml/base/dataset.hpp"
#include "core/thread_pool.hpp"
#include "ml/base/errors.hpp"
#include "ml/executor.hpp"
#include "ml/model.hpp"
#include "ml/process_group.hpp"
#include "ml/tensor_allocator.hpp"
#include "ml/trainer.hpp"
#include "ml/zoo.hpp"

namespace {

using Args = std::map<std::string, std::string>;

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("bad argument " + key);
    args[key.substr(2)] = argv[++i];
  }
  return args;
}

std::string get(const Args& args, const std::string& key, const std::string& fallback) {
  const auto it = args.find(key);
  return it == args.end() ? fallback : it->second;
}

// Runs `model` over all of `eval_set` on an executor, as the node does for
// an inference shard; writes the results to `path` and prints accuracy and
// throughput.
void infer_eval_set(const idunno::ml::ModelPtr& model, const idunno::ml::DatasetPtr& eval_set,
                    std::size_t batch_size, int threads, const std::string& path) {
  using namespace idunno;
  core::ThreadPool pool(static_cast<std::size_t>(threads > 0 ? threads : 0));
  ml::Executor executor(pool, ml::ExecutorOptions{});
  boost::asio::io_context loop;
  const auto begin = std::chrono::steady_clock::now();
  auto future = boost::asio::co_spawn(
      loop, executor.infer_shard(model, eval_set, 0, eval_set->size(), batch_size, pool.size()),
      boost::asio::use_future);
  loop.run();
  const ml::ShardResult shard = future.get();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::ofstream file(path, std::ios::binary);
  file << shard.text;
  if (!file.flush()) throw ml::TrainingError("cannot write " + path);
  std::printf("test_queries=%zu test_accuracy=%.6f infer_images_per_s=%.1f results=%s\n", shard.queries,
              shard.labelled ? static_cast<double>(shard.correct) / static_cast<double>(shard.labelled) : 0.0,
              static_cast<double>(shard.queries) / seconds, path.c_str());
}

int run(const Args& args) {
  using namespace idunno::ml;
  const std::string model_name = get(args, "model", "lenet");
  const auto seed = std::stoull(get(args, "seed", "0"));
  std::shared_ptr<Model> model = is_zoo_model(model_name)
                                     ? make_zoo_model(model_name, seed)
                                     : Model::load_file(model_name, LoadOptions{.name = model_name, .source = ModelSource::file,
                                                                                .input = {}, .normalization = {}});
  DatasetPtr train_set = open_dataset(get(args, "data", ""));
  const std::string eval_path = get(args, "eval", "");
  const DatasetPtr eval_set = eval_path.empty() ? nullptr : open_dataset(eval_path);
  const std::string results_path = get(args, "results", "");
  if (!results_path.empty() && !eval_set) throw std::invalid_argument("--results needs --eval");

  TrainOptions options;
  options.optimizer = parse_optimizer(get(args, "optimizer", "sgd"));
  options.epochs = std::stoi(get(args, "epochs", "1"));
  options.batch_size = std::stoul(get(args, "batch", "64"));
  options.learning_rate = std::stod(get(args, "lr", "0.01"));
  options.lr_decay = std::stod(get(args, "lr-decay", "1"));
  if (get(args, "cosine", "0") == "1") {
    options.schedule = LrSchedule::cosine;
    options.schedule_epochs = options.epochs;
  }
  options.weight_decay = std::stod(get(args, "weight-decay", "0"));
  options.augmentation = Augmentation{get(args, "flip", "0") == "1", std::stoi(get(args, "shift", "0"))};
  options.seed = seed;
  const std::size_t limit = std::stoul(get(args, "limit", "0"));
  options.threads = std::stoi(get(args, "threads", "1"));

  std::unique_ptr<ProcessGroup> group;
  const int world = std::stoi(get(args, "world", "1"));
  if (world > 1) {
    GroupOptions g;
    g.rank = std::stoi(get(args, "rank", "0"));
    g.world_size = world;
    g.file_store = get(args, "store", "");
    g.host = get(args, "host", "127.0.0.1");
    g.port = static_cast<std::uint16_t>(std::stoul(get(args, "port", "29500")));
    group = std::make_unique<ProcessGroup>(g);
  }
  // This rank's shard of the first `limit` samples.
  const std::size_t available = limit ? std::min(limit, train_set->size()) : train_set->size();
  const auto rank = static_cast<std::size_t>(group ? group->rank() : 0);
  const auto ranks = static_cast<std::size_t>(world > 1 ? world : 1);
  train_set = slice_dataset(train_set, available * rank / ranks, available * (rank + 1) / ranks);

  TrainCallbacks callbacks;
  callbacks.on_epoch = [](const EpochReport& r) {
    std::printf("epoch=%d loss=%.6f accuracy=%.6f samples=%zu seconds=%.3f sync_seconds=%.3f images_per_s=%.1f\n",
                r.epoch, r.loss, r.accuracy, r.samples, r.seconds, r.sync_seconds, r.images_per_second);
    std::fflush(stdout);
  };
  const auto result = train_model(*model, *train_set, eval_set.get(), options, callbacks, group.get());
  std::printf("train_images_per_s=%.1f\n", result.images_per_second);
  if (const auto out = get(args, "out", ""); !out.empty()) model->save_file(out);
  if (const auto out = get(args, "state-out", ""); !out.empty()) {
    const auto state = model->flat_state();
    std::ofstream file(out, std::ios::binary);
    file.write(reinterpret_cast<const char*>(state.data()), static_cast<std::streamsize>(state.size() * sizeof(float)));
    if (!file) throw TrainingError("cannot write " + out);
  }
  if (!results_path.empty() && (!group || group->rank() == 0)) {
    infer_eval_set(model, eval_set, std::stoul(get(args, "infer-batch", "64")), options.threads, results_path);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
    // Before LibTorch computes anything (see tensor_allocator.hpp); sized
    // as the node sizes it from ml.tensor_cache_mb.
    idunno::core::MlSection section;
    if (const auto it = args.find("tensor-cache-mb"); it != args.end()) {
      const long long mb = std::stoll(it->second);
      if (mb < 0 || mb > (1LL << 20)) throw std::invalid_argument("--tensor-cache-mb takes 0 to 1048576");
      section.tensor_cache_mb = static_cast<int>(mb);
    }
    if (const auto bytes = idunno::ml::executor_options(section).tensor_cache_bytes) {
      idunno::ml::install_tensor_allocator(*bytes);
    }
  } catch (const std::exception& e) {
    std::cerr << "idunno-train-worker: " << e.what() << " (see the usage at the top of main_train_worker.cpp)\n";
    return 2;
  }
  try {
    return run(args);
  } catch (const std::invalid_argument& e) {  // a missing or malformed option value
    std::cerr << "idunno-train-worker: " << e.what() << " (see the usage at the top of main_train_worker.cpp)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "idunno-train-worker: " << e.what() << "\n";
    return 1;
  }
}
