// ShardRunner over an in-memory SDFS and the real engine module: a shard's
// result lines are exactly the lines of the whole dataset's run over the
// shard's range, whether the dataset is read by range (plain IDX) or whole
// (gzip), on every re-run and whatever the batches in flight; the outcome
// counts queries and batches right; and a task that cannot run fails
// clearly without storing anything.

#include "cli/shard_runner.hpp"
#include "cli/train_runner.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "core/config.hpp"
#include "core/coro_test.hpp"
#include "core/timeout.hpp"
#include "core/thread_pool.hpp"
#include "ml/base/gzip.hpp"
#include "ml/base/idx.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"
#include "ml/engine/engine_loader.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
using ml::jobs::DatasetRef;
using ml::jobs::ModelRef;
using ml::jobs::ShardOutcome;
using ml::jobs::ShardTask;

constexpr std::uint32_t kImages = 300;

// SDFS as a map of (name, version) -> bytes, with SDFS's range rules and
// a switch to fail reads of one file.
struct FakeSdfs {
  std::map<std::pair<std::string, std::uint64_t>, std::string> files;
  std::map<std::string, std::uint64_t> latest;
  std::string fail_reads_of;
  std::string stall_reads_of;  // reads of it wait until cancelled
  std::size_t fetches = 0;
  std::uint64_t fetched_bytes = 0;

  std::uint64_t store(const std::string& name, std::string bytes) {
    const std::uint64_t version = ++latest[name];
    files[{name, version}] = std::move(bytes);
    return version;
  }
  bool has(const std::string& name) const { return latest.contains(name); }
};

asio::awaitable<std::string> fake_fetch(std::shared_ptr<FakeSdfs> sdfs, std::string name, std::uint64_t version,
                                        std::uint64_t offset, std::optional<std::uint64_t> length) {
  ++sdfs->fetches;
  // A read takes a turn of the loop, as a real one does: other runs go on.
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  if (name == sdfs->stall_reads_of) {
    asio::steady_timer never(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await never.async_wait(asio::use_awaitable);
  }
  if (name == sdfs->fail_reads_of) throw std::runtime_error("no replica could serve " + name);
  const auto it = sdfs->files.find({name, version});
  if (it == sdfs->files.end()) throw std::runtime_error("no such file: " + name);
  if (offset > it->second.size()) throw std::runtime_error("range past the end");
  std::string out = it->second.substr(offset, length.value_or(it->second.size()));
  sdfs->fetched_bytes += out.size();
  co_return out;
}

asio::awaitable<std::uint64_t> fake_put(std::shared_ptr<FakeSdfs> sdfs, std::string name, std::string bytes) {
  co_return sdfs->store(name, std::move(bytes));
}

ShardRunnerPorts fake_ports(const std::shared_ptr<FakeSdfs>& sdfs) {
  ShardRunnerPorts ports;
  ports.fetch = [sdfs](std::string name, std::uint64_t version, std::uint64_t offset,
                       std::optional<std::uint64_t> length) {
    return fake_fetch(sdfs, std::move(name), version, offset, length);
  };
  ports.put = [sdfs](std::string name, std::string bytes) { return fake_put(sdfs, std::move(name), std::move(bytes)); };
  return ports;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Lines [begin, end) of a results text.
std::string lines_of(const std::string& text, std::size_t begin, std::size_t end) {
  std::istringstream in(text);
  std::string line;
  std::string out;
  for (std::size_t i = 0; std::getline(in, line); ++i) {
    if (i >= begin && i < end) out += line + "\n";
  }
  return out;
}

ShardRunnerOptions in_flight(std::size_t batches) {
  ShardRunnerOptions options;
  options.in_flight = batches;
  return options;
}

std::vector<std::filesystem::path> module_paths() {
#ifdef IDUNNO_ML_MODULE_PATH
  return {IDUNNO_ML_MODULE_PATH};
#else
  return {"no-ml-module-in-this-build.so"};
#endif
}

// Two shards on one runner at once.
asio::awaitable<std::pair<ShardOutcome, ShardOutcome>> run_both(ShardRunner* runner, ShardTask a, ShardTask b) {
  using namespace asio::experimental::awaitable_operators;
  auto [first, second] = co_await (runner->run(std::move(a)) && runner->run(std::move(b)));
  co_return std::make_pair(std::move(first), std::move(second));
}

class ShardRunnerTest : public idunno::testing::CoroutineTest {
 protected:
  void SetUp() override {
    images_ = ml::test::idx_images(kImages);
    labels_ = ml::test::idx_labels(kImages);
    sdfs_->store("data/images", images_);
    sdfs_->store("data/labels", labels_);
    sdfs_->store("data/images.gz", gzip(images_));
    sdfs_->store("data/labels.gz", gzip(labels_));
  }
  void TearDown() override {
    engine_.reset();  // before the pool it runs on
  }

  // The engine, or skips the test on a build without ML.
  ml::Engine* engine() {
    if (!engine_) {
      core::MlSection ml;
      ml.threads = 2;
      ml.tensor_cache_mb = 0;
      auto loaded = ml::load_engine(ml::EngineRequest{&pool_, ml}, module_paths());
      if (!loaded.engine) {
        if (!ml::engine_built()) return nullptr;
        ADD_FAILURE() << loaded.problem;
        return nullptr;
      }
      engine_ = std::move(loaded.engine);
    }
    return engine_.get();
  }

  static DatasetRef plain_data(const std::string& images, const std::string& labels) {
    const auto images_header = ml::parse_idx_header(images, "images");
    const auto labels_header = ml::parse_idx_header(labels, "labels");
    DatasetRef data;
    data.images = "data/images";
    data.images_version = 1;
    data.labels = "data/labels";
    data.labels_version = 1;
    data.images_header = images_header.header_bytes;
    data.item_bytes = images_header.item_bytes();
    data.labels_header = labels_header.header_bytes;
    data.queries = images_header.count();
    return data;
  }

  DatasetRef gz_data() const {
    DatasetRef data;
    data.images = "data/images.gz";
    data.images_version = 1;
    data.labels = "data/labels.gz";
    data.labels_version = 1;
    data.compressed = true;
    data.queries = kImages;
    return data;
  }

  static ShardTask task_for(DatasetRef data, std::uint64_t begin, std::uint64_t end, std::uint64_t batch) {
    ShardTask task;
    task.job = "job a";
    task.shard = 3;
    task.attempt = 2;
    task.model = ModelRef{"lenet", true, 7, 0};
    task.data = std::move(data);
    task.begin = begin;
    task.end = end;
    task.batch = batch;
    task.results = "results/a/3";
    return task;
  }

  // The whole dataset's results, one batch of `batch` after the other.
  std::string whole_run(ml::Engine* engine, const ModelRef& model, std::uint64_t batch) {
    auto full = ml::IdxDataset::from_bytes(images_, labels_);
    const auto built = run(engine->zoo_model(model.name, model.seed));
    return run(engine->infer_shard(built, full, 0, kImages, batch, 1)).text;
  }

  ShardOutcome run_task(ShardRunner& runner, ShardTask task) {
    return run(runner.run(std::move(task)), std::chrono::seconds(120));
  }

  // The message `task` fails with.
  std::string failure_of(ShardRunner& runner, ShardTask task) {
    try {
      run_task(runner, std::move(task));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "the task did not fail";
    return {};
  }

  std::string stored(const std::string& name, std::uint64_t version) const { return sdfs_->files.at({name, version}); }

  core::ThreadPool pool_{2, "ml"};
  std::unique_ptr<ml::Engine> engine_;
  std::shared_ptr<FakeSdfs> sdfs_ = std::make_shared<FakeSdfs>();
  std::string images_;
  std::string labels_;
};

TEST(ShardRunnerPlan, BatchesAreWholeBatchesAndAShortLastOne) {
  EXPECT_EQ(batch_query_counts(104, 32), (std::vector<std::uint64_t>{32, 32, 32, 8}));
  EXPECT_EQ(batch_query_counts(64, 32), (std::vector<std::uint64_t>{32, 32}));
  EXPECT_EQ(batch_query_counts(5, 64), (std::vector<std::uint64_t>{5}));
  EXPECT_TRUE(batch_query_counts(0, 8).empty());
  EXPECT_THROW(batch_query_counts(8, 0), std::invalid_argument);
}

TEST(ShardRunnerPlan, PlainReadsAreTheShardsItemsAndLabels) {
  ShardTask task;
  task.data.images = "i";
  task.data.labels = "l";
  task.data.images_header = 16;
  task.data.item_bytes = 784;
  task.data.labels_header = 8;
  task.data.queries = 1000;
  task.begin = 100;
  task.end = 164;
  task.batch = 32;
  task.results = "r";
  const auto reads = plain_shard_reads(task);
  EXPECT_EQ(reads.images.offset, 16U + 100U * 784U);
  EXPECT_EQ(reads.images.length, 64U * 784U);
  ASSERT_TRUE(reads.labels);
  EXPECT_EQ(reads.labels->offset, 108U);
  EXPECT_EQ(reads.labels->length, 64U);
  task.end = 1001;
  EXPECT_THROW(plain_shard_reads(task), std::runtime_error);
}

TEST_F(ShardRunnerTest, WithoutAnEngineARunSaysWhy) {
  ShardRunnerOptions options;
  options.engine_problem = [] { return std::string("the module idunno-ml.so is missing"); };
  ShardRunner runner(nullptr, fake_ports(sdfs_), "node1", options);
  const auto error = failure_of(runner, task_for(plain_data(images_, labels_), 0, 32, 32));
  EXPECT_EQ(error, "the ML engine is not loaded: the module idunno-ml.so is missing");
  EXPECT_FALSE(sdfs_->has("results/a/3"));
}

#ifdef IDUNNO_ML_MODULE_PATH

TEST_F(ShardRunnerTest, APlainShardIsTheWholeRunsLinesOverItsRangeReadByRange) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  const auto task = task_for(plain_data(images_, labels_), 96, 200, 32);
  const std::string expected = lines_of(whole_run(engine, task.model, 32), 96, 200);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1", in_flight(2));

  const auto outcome = run_task(runner, task);
  EXPECT_EQ(stored("results/a/3", 1), expected);
  EXPECT_EQ(outcome.results_version, 1U);
  EXPECT_EQ(outcome.job, "job a");
  EXPECT_EQ(outcome.shard, 3U);
  EXPECT_EQ(outcome.attempt, 2U);
  EXPECT_EQ(outcome.worker, "node1");
  EXPECT_EQ(outcome.queries, 104U);
  EXPECT_EQ(outcome.batch_queries, (std::vector<std::uint64_t>{32, 32, 32, 8}));
  ASSERT_EQ(outcome.batch_ns.size(), 4U);
  for (const auto ns : outcome.batch_ns) EXPECT_GT(ns, 0);
  EXPECT_GT(outcome.finished_ms, 1'700'000'000'000U);
  // Labels are i % 10 (test_util): count the right predictions by hand.
  std::istringstream lines(expected);
  std::uint64_t index = 0;
  std::uint64_t label = 0;
  double score = 0;
  std::uint64_t correct = 0;
  while (lines >> index >> label >> score) correct += label == index % 10 ? 1 : 0;
  EXPECT_EQ(outcome.labelled, 104U);
  EXPECT_EQ(outcome.correct, correct);
  // Read by range: the headers, the shard's items and labels, nothing more.
  EXPECT_EQ(sdfs_->fetched_bytes, 16U + 8U + 104U * 784U + 104U);
}

TEST_F(ShardRunnerTest, AGzipDatasetGivesThePlainOnesBytesAndIsFetchedOnce) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  core::ThreadPool io_pool(1, "io");
  auto options = in_flight(2);
  options.decode_pool = &io_pool;  // decoded off the loop, as on a node
  ShardRunner runner(engine, fake_ports(sdfs_), "node2", options);
  run_task(runner, task_for(plain_data(images_, labels_), 96, 200, 32));
  const auto outcome = run_task(runner, task_for(gz_data(), 96, 200, 32));
  EXPECT_EQ(outcome.results_version, 2U);
  EXPECT_EQ(stored("results/a/3", 2), stored("results/a/3", 1));
  EXPECT_EQ(outcome.queries, 104U);
  EXPECT_EQ(outcome.labelled, 104U);

  // Another shard of the same files is sliced from the decoded copy.
  const std::size_t fetches = sdfs_->fetches;
  const auto last = run_task(runner, task_for(gz_data(), 256, 300, 32));
  EXPECT_EQ(sdfs_->fetches, fetches);
  EXPECT_EQ(last.batch_queries, (std::vector<std::uint64_t>{32, 12}));
  EXPECT_EQ(stored("results/a/3", 3), lines_of(whole_run(engine, ModelRef{"lenet", true, 7, 0}, 32), 256, 300));
}

TEST_F(ShardRunnerTest, ShardsOfAGzipDatasetStartedTogetherFetchItOnce) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1", in_flight(1));
  auto second = task_for(gz_data(), 128, 256, 32);
  second.shard = 4;
  second.results = "results/a/4";
  const auto [a, b] = run(run_both(&runner, task_for(gz_data(), 0, 128, 32), second), std::chrono::seconds(120));
  EXPECT_EQ(sdfs_->fetches, 2U);  // the images and the labels, once
  const std::string whole = whole_run(engine, ModelRef{"lenet", true, 7, 0}, 32);
  EXPECT_EQ(stored("results/a/3", 1), lines_of(whole, 0, 128));
  EXPECT_EQ(stored("results/a/4", 1), lines_of(whole, 128, 256));
  EXPECT_EQ(a.queries + b.queries, 256U);
}

TEST_F(ShardRunnerTest, TheSameTaskGivesTheSameBytesOnEveryRunAndWorker) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  // The last shard, whose last batch is short: 300 = 9 * 32 + 12.
  const auto task = task_for(plain_data(images_, labels_), 256, 300, 32);
  ShardRunner one(engine, fake_ports(sdfs_), "node1", in_flight(1));
  ShardRunner three(engine, fake_ports(sdfs_), "node3", in_flight(3));
  const auto first = run_task(one, task);
  const auto second = run_task(three, task);
  const auto third = run_task(one, task);
  EXPECT_EQ(stored("results/a/3", 1), stored("results/a/3", 2));
  EXPECT_EQ(stored("results/a/3", 1), stored("results/a/3", 3));
  for (const auto& outcome : {first, second, third}) {
    EXPECT_EQ(outcome.queries, 44U);
    EXPECT_EQ(outcome.batch_queries, (std::vector<std::uint64_t>{32, 12}));
    EXPECT_EQ(outcome.batch_ns.size(), 2U);
    EXPECT_EQ(outcome.labelled, 44U);
    EXPECT_EQ(outcome.correct, first.correct);
  }
  EXPECT_EQ(second.worker, "node3");
  EXPECT_EQ(stored("results/a/3", 1).substr(0, 4), "256 ");
}

TEST_F(ShardRunnerTest, AnUnknownModelFailsClearlyAndStoresNothing) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1");
  auto task = task_for(plain_data(images_, labels_), 0, 32, 32);
  task.model = ModelRef{"no-such-net", true, 1, 0};
  EXPECT_NE(failure_of(runner, task).find("no zoo model named 'no-such-net'"), std::string::npos);

  task.model = ModelRef{"models/missing", false, 0, 4};
  const auto missing = failure_of(runner, task);
  EXPECT_NE(missing.find("reading model models/missing@v4"), std::string::npos) << missing;

  sdfs_->store("models/junk", "not a TorchScript archive");
  task.model = ModelRef{"models/junk", false, 0, 1};
  const auto junk = failure_of(runner, task);
  EXPECT_NE(junk.find("models/junk"), std::string::npos) << junk;
  EXPECT_FALSE(sdfs_->has("results/a/3"));
}

TEST_F(ShardRunnerTest, AModelWhoseInputDoesNotFitTheDataFailsClearly) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1");
  auto task = task_for(gz_data(), 0, 32, 32);
  task.model = ModelRef{"resnet18", true, 1, 0};
  const auto error = failure_of(runner, task);
  EXPECT_NE(error.find("model resnet18 takes input 3x224x224"), std::string::npos) << error;
  EXPECT_NE(error.find("1x28x28"), std::string::npos) << error;
  EXPECT_FALSE(sdfs_->has("results/a/3"));
}

TEST_F(ShardRunnerTest, AFailingOrShortReadFailsTheRun) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1");
  sdfs_->fail_reads_of = "data/labels";
  const auto error = failure_of(runner, task_for(plain_data(images_, labels_), 0, 32, 32));
  EXPECT_NE(error.find("data/labels@v1"), std::string::npos) << error;
  EXPECT_NE(error.find("no replica could serve data/labels"), std::string::npos) << error;

  // A file shorter than its header says (truncated on upload).
  sdfs_->fail_reads_of.clear();
  sdfs_->store("data/images", images_.substr(0, images_.size() - 100));
  auto task = task_for(plain_data(images_, labels_), 256, 300, 32);
  task.data.images_version = 2;
  const auto short_read = failure_of(runner, task);
  EXPECT_NE(short_read.find("gave"), std::string::npos) << short_read;
  EXPECT_FALSE(sdfs_->has("results/a/3"));
}

TEST_F(ShardRunnerTest, ACancelledRunStoresNothingAndTheNextOneRuns) {
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ShardRunner runner(engine, fake_ports(sdfs_), "node1");
  sdfs_->stall_reads_of = "data/images.gz";
  EXPECT_THROW(run(core::with_timeout(runner.run(task_for(gz_data(), 0, 32, 32)), std::chrono::milliseconds(100))),
               core::TimeoutError);
  EXPECT_FALSE(sdfs_->has("results/a/3"));
  sdfs_->stall_reads_of.clear();
  const auto outcome = run_task(runner, task_for(gz_data(), 0, 32, 32));
  EXPECT_EQ(outcome.queries, 32U);
  EXPECT_EQ(stored("results/a/3", 1), lines_of(whole_run(engine, ModelRef{"lenet", true, 7, 0}, 32), 0, 32));
}

TEST_F(ShardRunnerTest, FashionMnistShardsReadByRangeOrWholeAgree) {
  if (!ml::test::have_fashion_mnist()) GTEST_FAIL() << ml::test::fashion_mnist_missing();
  auto* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  const auto dir = ml::test::fashion_mnist_dir();
  const std::string images_gz = ml::read_file_bytes(dir + "/t10k-images-idx3-ubyte.gz");
  const std::string labels_gz = ml::read_file_bytes(dir + "/t10k-labels-idx1-ubyte.gz");
  const std::string images = ml::gunzip(images_gz, "images");
  const std::string labels = ml::gunzip(labels_gz, "labels");
  sdfs_->store("fm/images", images);
  sdfs_->store("fm/labels", labels);
  sdfs_->store("fm/images.gz", images_gz);
  sdfs_->store("fm/labels.gz", labels_gz);
  auto plain = plain_data(images, labels);
  plain.images = "fm/images";
  plain.labels = "fm/labels";
  auto gz = plain;
  gz.images = "fm/images.gz";
  gz.labels = "fm/labels.gz";
  gz.compressed = true;
  ShardRunner runner(engine, fake_ports(sdfs_), "node1");
  const auto by_range = run_task(runner, task_for(plain, 9856, 10000, 64));
  const auto whole = run_task(runner, task_for(gz, 9856, 10000, 64));
  EXPECT_EQ(stored("results/a/3", 1), stored("results/a/3", 2));
  EXPECT_EQ(by_range.batch_queries, (std::vector<std::uint64_t>{64, 64, 16}));
  EXPECT_EQ(whole.correct, by_range.correct);
  EXPECT_EQ(stored("results/a/3", 1).substr(0, 5), "9856 ");
}

asio::awaitable<void> record_report(std::vector<std::pair<ml::jobs::EpochEntry, std::uint64_t>>* reports,
                                    ml::jobs::EpochEntry epoch, std::uint64_t model_version) {
  reports->emplace_back(epoch, model_version);
  co_return;
}

// A training rank: every epoch stores a checkpoint and is reported; the
// last one also stores the trained model. A run stopped after epoch 1
// (its worker died) and resumed from the checkpoint by another runner
// ends with the model bytes of an uninterrupted run.
TEST_F(ShardRunnerTest, TrainingResumedFromItsCheckpointEndsWithTheModelOfOneRun) {
  ml::Engine* engine = this->engine();
  ASSERT_NE(engine, nullptr);
  ml::jobs::TrainTask task;
  task.job = "t";
  task.attempt = 1;
  task.group = {"node1"};
  task.model = ModelRef{"lenet", true, 3, 0};
  task.checkpoint = "checkpoints/t";
  task.epochs = 3;
  task.data = gz_data();
  task.batch = 16;
  task.optimizer = "adam";
  task.lr = 0.01;
  task.lr_decay = 0.5;
  task.model_out = "models/t";
  std::vector<std::pair<ml::jobs::EpochEntry, std::uint64_t>> reports;
  auto reporter = [&reports](ml::jobs::EpochEntry epoch, std::uint64_t model_version) {
    return record_report(&reports, epoch, model_version);
  };
  ShardRunner shards(engine, fake_ports(sdfs_), "node1");
  TrainRunner trainer(shards, "node1");
  run(trainer.run(task, {}, reporter), std::chrono::seconds(120));
  ASSERT_EQ(reports.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reports[i].first.epoch, i + 1);
    EXPECT_EQ(reports[i].first.checkpoint_version, i + 1);
    EXPECT_EQ(reports[i].second, i == 2 ? 1U : 0U);  // the model only after the last
    EXPECT_TRUE(reports[i].first.accuracy.has_value());  // held-out split
  }
  // What a model predicts for every image (scores to 6 decimals).
  auto full = ml::IdxDataset::from_bytes(images_, labels_);
  const auto predictions = [&](const std::string& bytes, const std::string& key) {
    ml::LoadOptions options{.name = key, .source = ml::ModelSource::sdfs, .input = {}, .normalization = {}};
    const auto model = run(engine->load_model(key, bytes, options));
    return run(engine->infer_shard(model, full, 0, kImages, 64, 1)).text;
  };
  const std::string one_run = predictions(stored("models/t", 1), "one run");
  const auto [model_bytes, optimizer_state] = decode_checkpoint(stored("checkpoints/t", 3));
  EXPECT_TRUE(predictions(model_bytes, "checkpoint 3") == one_run);
  EXPECT_FALSE(optimizer_state.empty());
  EXPECT_FALSE(predictions(decode_checkpoint(stored("checkpoints/t", 1)).first, "checkpoint 1") == one_run);

  // Resumed after epoch 1 on another node: epochs 2 and 3 from
  // checkpoint version 1.
  reports.clear();
  task.attempt = 2;
  task.checkpoint_version = 1;
  task.first_epoch = 2;
  ShardRunner other_shards(engine, fake_ports(sdfs_), "node2");
  TrainRunner other(other_shards, "node2");
  run(other.run(task, {}, reporter), std::chrono::seconds(120));
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_EQ(reports[0].first.epoch, 2U);
  EXPECT_EQ(reports[1].second, 2U);
  EXPECT_TRUE(predictions(stored("models/t", 2), "resumed") == one_run);

  // A stop request ends the run with nothing reported; a corrupt
  // checkpoint is a clear error.
  reports.clear();
  auto stop = std::make_shared<std::atomic<bool>>(true);
  run(other.run(task, stop, reporter), std::chrono::seconds(120));
  EXPECT_TRUE(reports.empty());
  sdfs_->store("checkpoints/bad", "not a checkpoint");
  task.checkpoint = "checkpoints/bad";
  try {
    run(other.run(task, {}, reporter), std::chrono::seconds(120));
    ADD_FAILURE() << "a corrupt checkpoint was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not an IDunno training checkpoint"), std::string::npos) << e.what();
  }
}

#endif  // IDUNNO_ML_MODULE_PATH

}  // namespace
}  // namespace idunno::cli
