// Training: LeNet on Fashion-MNIST reaches the accuracy users expect in one
// epoch; stopping, bad inputs, and the executor's awaitable wrapper.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cmath>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "core/coro_test.hpp"
#include "ml/base/errors.hpp"
#include "ml/executor.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"
#include "ml/trainer.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

namespace asio = boost::asio;

TEST(Trainer, LenetOnFashionMnistOneEpochReaches85Percent) {
  ASSERT_TRUE(test::have_fashion_mnist()) << test::fashion_mnist_missing();
  const auto train_set = open_dataset(test::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz");
  const auto test_set = open_dataset(test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
  auto model = make_zoo_model("lenet", 1);
  TrainOptions options;
  options.optimizer = OptimizerKind::adam;
  options.learning_rate = 0.002;
  options.batch_size = 32;
  options.seed = 1;
  std::size_t progress_calls = 0;
  TrainCallbacks callbacks;
  callbacks.on_progress = [&](const TrainProgress& p) {
    ++progress_calls;
    EXPECT_EQ(p.steps, 60000U / 32);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto result = train_model(*model, *train_set, test_set.get(), options, callbacks);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.epochs.size(), 1U);
  const auto& epoch = result.epochs[0];
  std::cout << "lenet_fmnist_1epoch accuracy=" << epoch.accuracy << " loss=" << epoch.loss << " seconds=" << seconds
            << " train_images_per_s=" << epoch.images_per_second << "\n";
  EXPECT_GE(epoch.accuracy, 0.85);
  EXPECT_EQ(epoch.evaluated, 10000U);
  EXPECT_EQ(epoch.samples, 60000U);
  EXPECT_GT(progress_calls, 30U);
  // The trained model saves and loads with its accuracy intact.
  const auto reloaded = Model::load_bytes(model->save_bytes(), LoadOptions{.name = "trained", .source = ModelSource::sdfs,
                                                                           .input = {}, .normalization = {}});
  EXPECT_EQ(reloaded->flat_state(), model->flat_state());
}

TEST(Trainer, StopFlagEndsTrainingAfterTheCurrentStep) {
  const auto data = IdxDataset::from_bytes(test::idx_images(256), test::idx_labels(256));
  auto model = make_zoo_model("lenet", 1);
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 16;
  options.stop = std::make_shared<std::atomic<bool>>(true);
  const auto result = train_model(*model, *data, nullptr, options);
  EXPECT_TRUE(result.stopped);
  ASSERT_EQ(result.epochs.size(), 1U);
  EXPECT_EQ(result.epochs[0].samples, 16U);
}

// A run resumed from the weights and optimizer state of an earlier run
// (as a training job resumes from its checkpoint after a crash) ends with
// the weights of one uninterrupted run: the same shuffles, learning rates
// and optimizer moments.
TEST(Trainer, ResumingFromACheckpointGivesTheWeightsOfOneRun) {
  const auto data = IdxDataset::from_bytes(test::idx_images(256), test::idx_labels(256));
  for (const auto kind : {OptimizerKind::adam, OptimizerKind::sgd}) {
    std::vector<std::vector<float>> finals;
    for (const bool augmented : {false, true}) {
      TrainOptions options;
      options.optimizer = kind;
    // Augmentation is drawn per epoch and step: a resumed run draws what
    // the uninterrupted one did. The augmented runs follow a cosine
    // schedule over the 3 epochs, which a resumed run continues.
      if (augmented) {
        options.augmentation = Augmentation{true, 2};
        options.schedule = LrSchedule::cosine;
        options.schedule_epochs = 3;
      }
      options.learning_rate = 0.01;
      options.lr_decay = 0.5;
      options.batch_size = 16;
      options.seed = 7;
      options.epochs = 3;
      auto whole = make_zoo_model("lenet", 1);
      const auto one_run = train_model(*whole, *data, nullptr, options);
      ASSERT_EQ(one_run.epochs.size(), 3U);

      auto first = make_zoo_model("lenet", 1);
      options.epochs = 1;
      const auto part = train_model(*first, *data, nullptr, options);
      EXPECT_FALSE(part.optimizer_state.empty());
      auto resumed =
          Model::load_bytes(first->save_bytes(),
                            LoadOptions{.name = "lenet", .source = ModelSource::sdfs, .input = {}, .normalization = {}})
              ->clone();
      options.first_epoch = 2;
      options.epochs = 2;
      options.optimizer_state = part.optimizer_state;
      const auto rest = train_model(*resumed, *data, nullptr, options);
      ASSERT_EQ(rest.epochs.size(), 2U);
      EXPECT_EQ(rest.epochs[0].epoch, 2);
      EXPECT_DOUBLE_EQ(rest.epochs[1].loss, one_run.epochs[2].loss);
      EXPECT_EQ(resumed->flat_state(), whole->flat_state());

    // Without the optimizer's state the weights differ (the test can fail).
      auto fresh =
          Model::load_bytes(first->save_bytes(),
                            LoadOptions{.name = "lenet", .source = ModelSource::sdfs, .input = {}, .normalization = {}})
              ->clone();
      options.optimizer_state.clear();
      train_model(*fresh, *data, nullptr, options);
      EXPECT_NE(fresh->flat_state(), whole->flat_state());
      finals.push_back(whole->flat_state());
    }
    EXPECT_NE(finals[0], finals[1]) << "augmentation changed nothing";
  }
  TrainOptions bad;
  bad.optimizer_state = "not an archive";
  auto model = make_zoo_model("lenet", 1);
  EXPECT_THROW(train_model(*model, *data, nullptr, bad), TrainingError);
  bad.optimizer_state.clear();
  bad.lr_decay = 0;
  EXPECT_THROW(train_model(*model, *data, nullptr, bad), TrainingError);
  bad.lr_decay = 1;
  bad.schedule = LrSchedule::cosine;
  bad.epochs = 3;
  bad.schedule_epochs = 2;  // shorter than the run
  EXPECT_THROW(train_model(*model, *data, nullptr, bad), TrainingError);
}

TEST(Trainer, TheScheduleGivesEachStepItsLearningRate) {
  TrainOptions options;
  options.learning_rate = 0.1;
  options.lr_decay = 0.5;
  // Exponential: one rate per epoch.
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 0.99), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 1.0), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 2.5), 0.025);
  // Cosine over 4 epochs: from the rate to 0, half of it halfway, falling
  // within an epoch.
  options.schedule = LrSchedule::cosine;
  options.schedule_epochs = 4;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 0.0), 0.1);
  EXPECT_NEAR(scheduled_learning_rate(options, 2.0), 0.05, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(options, 1.0), 0.05 * (1 + std::sqrt(0.5)), 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(options, 4.0), 0.0, 1e-12);
  EXPECT_LT(scheduled_learning_rate(options, 0.5), scheduled_learning_rate(options, 0.25));
}

TEST(Trainer, HeldOutSplitAndBadInputs) {
  const auto data = IdxDataset::from_bytes(test::idx_images(100), test::idx_labels(100));
  auto model = make_zoo_model("lenet", 1);
  TrainOptions options;
  options.batch_size = 10;
  options.holdout_fraction = 0.2;
  const auto result = train_model(*model, *data, nullptr, options);
  EXPECT_EQ(result.epochs[0].samples, 80U);
  EXPECT_EQ(result.epochs[0].evaluated, 20U);

  const auto unlabelled = IdxDataset::from_bytes(test::idx_images(10), std::nullopt);
  EXPECT_THROW(train_model(*model, *unlabelled, nullptr, options), TrainingError);
  options.learning_rate = 0;
  EXPECT_THROW(train_model(*model, *data, nullptr, options), TrainingError);
  EXPECT_THROW(parse_optimizer("rmsprop"), TrainingError);
  const auto many_classes = IdxDataset::from_bytes(test::idx_images(20), test::idx_labels(20, 20));
  options.learning_rate = 0.01;
  EXPECT_THROW(train_model(*model, *many_classes, nullptr, options), TrainingError);
}

TEST(Trainer, ExecutorTrainsACloneAndReportsOnTheLoop) {
  asio::io_context io;
  core::ThreadPool pool(2);
  Executor executor(pool, ExecutorOptions{});
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(200), test::idx_labels(200));
  const auto start = idunno::testing::run_until_done(io, executor.zoo_model("lenet", 3));
  const auto before = start->flat_state();
  const auto loop_thread = std::this_thread::get_id();
  int epochs_seen = 0;
  int progress_seen = 0;
  bool all_on_loop = true;
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 20;
  TrainCallbacks callbacks;
  callbacks.progress_every = 3;
  callbacks.on_progress = [&](const TrainProgress&) {
    ++progress_seen;
    all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
  };
  callbacks.on_epoch = [&](const EpochReport&) {
    ++epochs_seen;
    all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
  };
  const auto [trained, result] =
      idunno::testing::run_until_done(io, executor.train(start, data, nullptr, options, callbacks));
  EXPECT_EQ(result.epochs.size(), 2U);
  EXPECT_EQ(epochs_seen, 2);
  EXPECT_EQ(progress_seen, 2 * 3);  // 9 steps per epoch: after steps 3, 6, 9
  EXPECT_TRUE(all_on_loop);
  EXPECT_EQ(start->flat_state(), before);  // the shared model is untouched
  EXPECT_NE(trained->flat_state(), before);
}

// Records the threads that read its images (the training thread).
class ThreadRecordingDataset final : public Dataset {
 public:
  explicit ThreadRecordingDataset(DatasetPtr inner) : inner_(std::move(inner)) {}
  std::size_t size() const override { return inner_->size(); }
  Image image(std::size_t index) const override {
    const std::lock_guard lock(mutex_);
    threads_.insert(std::this_thread::get_id());
    return inner_->image(index);
  }
  std::optional<std::int64_t> label(std::size_t index) const override { return inner_->label(index); }
  bool has_labels() const override { return inner_->has_labels(); }
  std::int64_t classes() const override { return inner_->classes(); }
  ImageShape sample_shape() const override { return inner_->sample_shape(); }
  std::string describe() const override { return inner_->describe(); }
  std::set<std::thread::id> threads() const {
    const std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  DatasetPtr inner_;
  mutable std::mutex mutex_;
  mutable std::set<std::thread::id> threads_;
};

TEST(Trainer, RunsOnSeveralThreadsShareOneThreadOutsideThePool) {
  // libgomp keeps a team per thread that ran a parallel region and spins
  // less once it manages more threads than cores: every multi-threaded run
  // must come from the same thread, whichever pool thread is free.
  asio::io_context io;
  core::ThreadPool pool(2);
  Executor executor(pool, ExecutorOptions{});
  const auto start = idunno::testing::run_until_done(io, executor.zoo_model("lenet", 3));
  auto wide =
      std::make_shared<ThreadRecordingDataset>(IdxDataset::from_bytes(test::idx_images(40), test::idx_labels(40)));
  auto narrow =
      std::make_shared<ThreadRecordingDataset>(IdxDataset::from_bytes(test::idx_images(40), test::idx_labels(40)));
  TrainOptions options;
  options.batch_size = 20;
  for (int run = 0; run < 6; ++run) {
    options.threads = 2;
    idunno::testing::run_until_done(io, executor.train(start, wide, nullptr, options, {}));
    options.threads = 1;
    idunno::testing::run_until_done(io, executor.train(start, narrow, nullptr, options, {}));
  }
  ASSERT_EQ(wide->threads().size(), 1U);
  // That thread is none of the pool's (two jobs that wait for each other
  // name both), where one-thread runs stay.
  std::latch both(2);
  std::mutex mutex;
  std::set<std::thread::id> pool_threads;
  auto name_thread = [&] {
    {
      const std::lock_guard lock(mutex);
      pool_threads.insert(std::this_thread::get_id());
    }
    both.arrive_and_wait();
    return 0;
  };
  asio::co_spawn(io, pool.run(name_thread), asio::detached);
  asio::co_spawn(io, pool.run(name_thread), asio::detached);
  io.restart();
  io.run();
  ASSERT_EQ(pool_threads.size(), 2U);
  EXPECT_FALSE(pool_threads.contains(*wide->threads().begin()));
  for (const auto& id : narrow->threads()) EXPECT_TRUE(pool_threads.contains(id));
}

}  // namespace
}  // namespace idunno::ml
