// Dynamic batching: concurrent requests share batches within the queue
// delay and the cap, each gets its own rows back, a failed batch fails its
// requests only, and shutdown fails what is queued.

#include "cli/online_batcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "core/coro_test.hpp"
#include "core/task_group.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A batch of `images` one-value images, each value `first + i`.
ml::Batch batch_of(std::size_t images, float first) {
  ml::Batch b;
  b.shape = {1, 1, 1};
  for (std::size_t i = 0; i < images; ++i) {
    b.values.push_back(first + static_cast<float>(i));
    b.indices.push_back(static_cast<std::int64_t>(i));
    b.labels.push_back(-1);
  }
  return b;
}

// Runs batches after `latency`: two classes per image, (value, -value).
class FakeExecutor {
 public:
  explicit FakeExecutor(std::chrono::milliseconds latency) : latency_(latency) {}
  asio::awaitable<ml::BatchScores> run(ml::ModelPtr /*model*/, ml::Batch batch) {
    sizes.push_back(batch.size());
    ++running;
    max_running = std::max(max_running, running);
    asio::steady_timer timer(co_await asio::this_coro::executor, latency_);
    co_await timer.async_wait(asio::use_awaitable);
    --running;
    if (fail_next) {
      fail_next = false;
      throw std::runtime_error("the model broke");
    }
    ml::BatchScores scores;
    scores.classes = 2;
    for (float v : batch.values) {
      scores.probabilities.push_back(v);
      scores.probabilities.push_back(-v);
    }
    co_return scores;
  }
  std::vector<std::size_t> sizes;
  std::size_t running = 0;
  std::size_t max_running = 0;
  bool fail_next = false;

 private:
  std::chrono::milliseconds latency_;
};

class OnlineBatcherTest : public idunno::testing::CoroutineTest {
 protected:
  void make(BatcherOptions options, std::chrono::milliseconds latency = 5ms) {
    fake_ = std::make_unique<FakeExecutor>(latency);
    FakeExecutor* fake = fake_.get();
    batcher_ = std::make_unique<OnlineBatcher>(
        executor(), [fake](ml::ModelPtr m, ml::Batch b) { return fake->run(std::move(m), std::move(b)); }, options);
  }
  void TearDown() override {
    if (batcher_) run(batcher_->shutdown(500ms));
  }

  // Submits `requests` at once (request r has `images` images valued
  // 100 * r + i) and waits for all; the rows each got, or "error".
  std::vector<std::vector<float>> submit_all(std::size_t requests, std::size_t images) {
    auto results = std::make_shared<std::vector<std::vector<float>>>(requests);
    core::TaskGroup group(executor(), "test");
    for (std::size_t r = 0; r < requests; ++r) {
      group.spawn(submit_one(batcher_.get(), results, r, images));
    }
    run(group.join());
    return *results;
  }

  static asio::awaitable<void> submit_one(OnlineBatcher* batcher, std::shared_ptr<std::vector<std::vector<float>>> out,
                                          std::size_t r, std::size_t images) {
    try {
      auto submitting = batcher->submit("m", nullptr, batch_of(images, static_cast<float>(100 * r)));
      const ml::BatchScores rows = co_await std::move(submitting);
      (*out)[r] = rows.probabilities;
    } catch (const std::exception& /*failed*/) {
      (*out)[r] = {-12345.0F};
    }
  }

  std::unique_ptr<FakeExecutor> fake_;
  std::unique_ptr<OnlineBatcher> batcher_;
};

TEST_F(OnlineBatcherTest, ConcurrentRequestsShareOneBatchAndGetTheirOwnRows) {
  make({.max_queue_delay = 50ms, .max_batch = 64, .max_in_flight = 1});
  const auto rows = submit_all(8, 2);
  ASSERT_EQ(fake_->sizes, (std::vector<std::size_t>{16}));
  for (std::size_t r = 0; r < 8; ++r) {
    const auto v = static_cast<float>(100 * r);
    EXPECT_EQ(rows[r], (std::vector<float>{v, -v, v + 1, -(v + 1)})) << "request " << r;
  }
  EXPECT_EQ(batcher_->batches_run(), 1u);
  EXPECT_EQ(batcher_->images_run(), 16u);
}

TEST_F(OnlineBatcherTest, BatchesStopAtTheCapAndABigRequestRunsAlone) {
  make({.max_queue_delay = 50ms, .max_batch = 4, .max_in_flight = 1});
  const auto rows = submit_all(10, 1);
  std::size_t total = 0;
  for (auto s : fake_->sizes) {
    EXPECT_LE(s, 4u);
    total += s;
  }
  EXPECT_EQ(total, 10u);
  for (std::size_t r = 0; r < 10; ++r) EXPECT_EQ(rows[r].at(0), static_cast<float>(100 * r));
  fake_->sizes.clear();
  const auto big = submit_all(1, 9);
  EXPECT_EQ(fake_->sizes, (std::vector<std::size_t>{9}));
  EXPECT_EQ(big[0].size(), 18u);
}

TEST_F(OnlineBatcherTest, ALoneRequestWaitsNoLongerThanTheDelay) {
  make({.max_queue_delay = 2ms, .max_batch = 64, .max_in_flight = 1}, 1ms);
  const auto start = std::chrono::steady_clock::now();
  const auto rows = submit_all(1, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(rows[0], (std::vector<float>{0.0F, -0.0F}));
}

TEST_F(OnlineBatcherTest, BusySlotsMakeBiggerBatchesWithinTheInFlightLimit) {
  make({.max_queue_delay = 0ms, .max_batch = 64, .max_in_flight = 2}, 20ms);
  const auto rows = submit_all(12, 1);
  EXPECT_LE(fake_->max_running, 2u);
  EXPECT_LT(fake_->sizes.size(), 12u);  // some requests waited for a place and were batched
  for (std::size_t r = 0; r < 12; ++r) EXPECT_EQ(rows[r].at(0), static_cast<float>(100 * r));
}

TEST_F(OnlineBatcherTest, AFailedBatchFailsItsRequestsOnly) {
  make({.max_queue_delay = 20ms, .max_batch = 64, .max_in_flight = 1});
  fake_->fail_next = true;
  const auto failed = submit_all(3, 1);
  for (const auto& r : failed) EXPECT_EQ(r, (std::vector<float>{-12345.0F}));
  const auto fine = submit_all(3, 1);
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(fine[r].at(0), static_cast<float>(100 * r));
}

TEST_F(OnlineBatcherTest, ShutdownRefusesNewRequests) {
  make({.max_queue_delay = 1ms, .max_batch = 64, .max_in_flight = 1});
  run(batcher_->shutdown(100ms));
  EXPECT_EQ(submit_all(1, 1)[0], (std::vector<float>{-12345.0F}));
}

}  // namespace
}  // namespace idunno::cli
