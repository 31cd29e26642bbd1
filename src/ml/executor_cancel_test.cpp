// The executor's pool work is cancellable: a training run holds executor
// slots like inference, stops between steps when its awaiter is cancelled
// or the executor stops, and the awaiter resumes only once it has stopped.

#include <gtest/gtest.h>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <memory>

#include "core/coro_test.hpp"
#include "core/task_group.hpp"
#include "core/timeout.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"
#include "ml/executor.hpp"

namespace idunno::ml {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Far more training than any test waits for: only a cancellation ends it.
TrainOptions endless() {
  TrainOptions options;
  options.epochs = 100000;
  options.batch_size = 8;
  return options;
}

struct TrainingRun {
  bool started = false;   // the first progress report arrived
  bool aborted = false;   // the awaiter got operation_aborted
  bool finished = false;  // the awaiter resumed
  Clock::time_point resumed_at{};
};

asio::awaitable<void> train_until_cancelled(Executor* executor, ModelPtr model, DatasetPtr data,
                                            std::shared_ptr<TrainingRun> run) {
  TrainCallbacks callbacks;
  callbacks.progress_every = 1;
  callbacks.on_progress = [run](const TrainProgress&) { run->started = true; };
  try {
    (void)co_await executor->train(model, data, nullptr, endless(), callbacks);
  } catch (const boost::system::system_error& e) {
    run->aborted = e.code() == asio::error::operation_aborted;
  }
  run->finished = true;
  run->resumed_at = Clock::now();
}

asio::awaitable<void> infer_once(Executor* executor, ModelPtr model, DatasetPtr data, bool* done) {
  (void)co_await executor->infer(model, data, 0, 8);
  *done = true;
}

class ExecutorCancel : public idunno::testing::CoroutineTest {
 protected:
  core::ThreadPool pool_{1};
  Executor executor_{pool_, ExecutorOptions{}};
  DatasetPtr data_ = IdxDataset::from_bytes(test::idx_images(64), test::idx_labels(64));
};

TEST_F(ExecutorCancel, TrainingHoldsASlotAndStopsBetweenStepsWhenCancelled) {
  const auto model = run(executor_.zoo_model("lenet", 1));
  core::TaskGroup training(executor(), "training");
  core::TaskGroup inference(executor(), "inference");
  auto progress = std::make_shared<TrainingRun>();
  training.spawn(train_until_cancelled(&executor_, model, data_, progress));
  ASSERT_TRUE(run_until([&] { return progress->started; }));
  EXPECT_EQ(executor_.slots_in_use(), 1U);
  EXPECT_EQ(executor_.training_runs(), 1U);
  // The one slot is the training run's: a batch waits behind it.
  bool inferred = false;
  inference.spawn(infer_once(&executor_, model, data_, &inferred));
  ASSERT_TRUE(run_until([&] { return executor_.queued_batches() == 1; }));
  EXPECT_FALSE(inferred);

  const auto cancelled_at = Clock::now();
  training.cancel(asio::cancellation_type::total);
  ASSERT_TRUE(run_until([&] { return progress->finished; }, 5s));
  EXPECT_TRUE(progress->aborted);
  const auto stop_latency = progress->resumed_at - cancelled_at;
  std::cout << "training_stop_after_cancel_ms="
            << std::chrono::duration<double, std::milli>(stop_latency).count() << "\n";
  EXPECT_LT(stop_latency, 1s) << "a training step of lenet at batch 8 takes milliseconds";
  // The slot came back and the waiting batch ran.
  ASSERT_TRUE(run_until([&] { return inferred; }));
  run([&]() -> asio::awaitable<void> { co_await inference.join(); });
  EXPECT_EQ(executor_.slots_in_use(), 0U);
  EXPECT_EQ(executor_.training_runs(), 0U);
}

TEST_F(ExecutorCancel, StopEndsALongTrainingRunWithinTheNodesBound) {
  const auto model = run(executor_.zoo_model("lenet", 2));
  core::TaskGroup training(executor(), "training");
  auto progress = std::make_shared<TrainingRun>();
  training.spawn(train_until_cancelled(&executor_, model, data_, progress));
  ASSERT_TRUE(run_until([&] { return progress->started; }));
  const auto begin = Clock::now();
  const bool idle = run([&]() -> asio::awaitable<bool> { co_return co_await executor_.stop(Clock::now() + 4s); });
  const auto took = Clock::now() - begin;
  std::cout << "executor_stop_with_training_ms=" << std::chrono::duration<double, std::milli>(took).count() << "\n";
  EXPECT_TRUE(idle);
  EXPECT_LT(took, 2s) << "the node must exit within 5 s of SIGTERM";
  EXPECT_EQ(pool_.active(), 0U);
  ASSERT_TRUE(run_until([&] { return progress->finished; }));
  EXPECT_TRUE(progress->aborted);
  // A stopped executor takes no new work.
  EXPECT_THROW(run(executor_.infer(model, data_, 0, 8)), boost::system::system_error);
}

TEST_F(ExecutorCancel, ATimedOutShardStopsTakingBatches) {
  const auto model = run(executor_.zoo_model("resnet-fmnist", 1));
  const DatasetPtr many = IdxDataset::from_bytes(test::idx_images(4096), std::nullopt);
  const auto begin = Clock::now();
  EXPECT_THROW(run(core::with_timeout(executor_.infer_shard(model, many, 0, 4096, 16, 1), 50ms)), core::TimeoutError);
  const auto took = Clock::now() - begin;
  std::cout << "shard_timeout_ms=" << std::chrono::duration<double, std::milli>(took).count() << "\n";
  // 256 batches of a ResNet would take many seconds; the shard stopped
  // after the batch that was running.
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(run_until([&] { return pool_.active() == 0; }));
  EXPECT_EQ(executor_.slots_in_use(), 0U);
}

}  // namespace
}  // namespace idunno::ml
