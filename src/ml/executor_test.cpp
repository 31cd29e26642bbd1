// The executor: shard inference through the pool, deterministic results,
// model cache and listing, and an event loop that keeps ticking while the
// pool computes.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <regex>

#include "core/task_group.hpp"
#include "ml/base/errors.hpp"
#include "ml/executor.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/inference.hpp"
#include "ml/test_loop.hpp"
#include "ml/base/test_util.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

namespace asio = boost::asio;

class ExecutorTest : public ::testing::Test {
 protected:
  asio::io_context io_;
  core::ThreadPool pool_{2};
  Executor executor_{pool_, ExecutorOptions{}};
};

TEST_F(ExecutorTest, ShardResultsAreInQueryOrderAndDeterministic) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(100), test::idx_labels(100));
  const auto model = test::run_loop(io_, executor_.zoo_model("lenet", 5));
  const auto one = test::run_loop(io_, executor_.infer_shard(model, data, 10, 90, 16, 1));
  const auto two = test::run_loop(io_, executor_.infer_shard(model, data, 10, 90, 16, 2));
  EXPECT_EQ(one.queries, 80U);
  EXPECT_EQ(one.labelled, 80U);
  EXPECT_EQ(one.batch_times.size(), 5U);
  EXPECT_EQ(one.text, two.text);
  const std::regex line("(\\d+) (\\d) (0|1)\\.\\d{6}");
  std::istringstream lines(one.text);
  std::string text;
  std::int64_t expected = 10;
  while (std::getline(lines, text)) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(text, match, line)) << text;
    EXPECT_EQ(std::stoll(match[1]), expected++);
  }
  EXPECT_EQ(expected, 90);
  // The same batches run directly give the same bytes.
  std::string direct;
  for (std::size_t lo = 10; lo < 90; lo += 16) {
    append_results(direct, run_batch(*model, make_batch(*data, lo, std::min<std::size_t>(lo + 16, 90), model->info())).predictions);
  }
  EXPECT_EQ(one.text, direct);
}

TEST_F(ExecutorTest, InferReportsTimeAndAccuracyCounts) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(8), test::idx_labels(8));
  const auto model = test::run_loop(io_, executor_.zoo_model("lenet"));
  const auto result = test::run_loop(io_, executor_.infer(model, data, 0, 8));
  ASSERT_EQ(result.predictions.size(), 8U);
  EXPECT_GT(result.processing_time.count(), 0);
  EXPECT_EQ(result.labelled, 8U);
  EXPECT_LE(result.correct, 8U);
  EXPECT_THROW(test::run_loop(io_, executor_.infer(model, data, 4, 9)), DatasetError);
}

TEST_F(ExecutorTest, CachesModelsAndListsLoadedOnes) {
  const auto a = test::run_loop(io_, executor_.zoo_model("lenet", 1));
  const auto b = test::run_loop(io_, executor_.zoo_model("lenet", 1));
  EXPECT_EQ(a.get(), b.get());
  const std::string bytes = make_zoo_model("lenet", 2)->save_bytes();
  LoadOptions options{.name = "models/mine", .source = ModelSource::sdfs, .input = {}, .normalization = {}};
  const auto loaded = test::run_loop(io_, executor_.load_model("sdfs:models/mine@1", bytes, options));
  EXPECT_EQ(executor_.cached("sdfs:models/mine@1").get(), loaded.get());
  const auto models = executor_.models();
  ASSERT_EQ(models.size(), 4U);
  EXPECT_EQ(models[3].name, "models/mine");
  EXPECT_EQ(models[3].source, ModelSource::sdfs);
  EXPECT_EQ(models[3].input, (ImageShape{1, 28, 28}));
  EXPECT_EQ(models[3].classes, 10);
  EXPECT_THROW(test::run_loop(io_, executor_.load_model("bad", "junk", options)), ModelError);
  auto trained = make_zoo_model("lenet", 4);
  trained->set_name("models/job1", ModelSource::sdfs);
  executor_.add_model("sdfs:models/job1@1", trained);
  EXPECT_EQ(executor_.cached("sdfs:models/job1@1").get(), trained.get());
  EXPECT_EQ(executor_.models().size(), 5U);
  EXPECT_EQ(executor_.models()[3].name, "models/job1");
}

// A wide batch (run alone, with as many intra-op threads as the pool)
// predicts what the same batch predicts narrow.
TEST_F(ExecutorTest, WideBatchesPredictWhatNarrowOnesDo) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(64), test::idx_labels(64));
  Executor wide(pool_, ExecutorOptions{.wide_batch_elements = 1});
  const auto model = test::run_loop(io_, executor_.zoo_model("resnet-fmnist", 3));
  const auto narrow_result = test::run_loop(io_, executor_.infer(model, data, 0, 64));
  EXPECT_EQ(executor_.wide_batches(), 0U);  // by default no batch runs wide
  const auto wide_result = test::run_loop(io_, wide.infer(model, data, 0, 64));
  EXPECT_EQ(wide.wide_batches(), 1U);
  ASSERT_EQ(wide_result.predictions.size(), 64U);
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(wide_result.predictions[i].index, narrow_result.predictions[i].index);
    EXPECT_EQ(wide_result.predictions[i].label, narrow_result.predictions[i].label);
    EXPECT_NEAR(wide_result.predictions[i].score, narrow_result.predictions[i].score, 1e-4);
  }
  EXPECT_EQ(wide.slots_in_use(), 0U);
}

// Narrow and wide batches from many coroutines share the pool's slots and
// all complete with the right answers; batches cancelled while waiting for
// slots leave without running; every slot comes back.
TEST_F(ExecutorTest, BatchesShareThePoolSlotsAndGiveThemBack) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(64), test::idx_labels(64));
  // lenet: 784 floats per image; batches of 16 (12,544 floats) run wide.
  Executor executor(pool_, ExecutorOptions{.wide_batch_elements = 5000});
  const auto model = test::run_loop(io_, executor.zoo_model("lenet", 2));
  struct Seen {
    int done = 0;
    int mismatches = 0;
    int cancelled = 0;
    std::size_t queued_before_cancel = 0;
  };
  const auto seen = std::make_shared<Seen>();
  test::run_loop(io_, [](Executor& ex, ModelPtr m, DatasetPtr d, std::shared_ptr<Seen> s) -> asio::awaitable<void> {
    const auto loop = co_await asio::this_coro::executor;
    core::TaskGroup batches(loop, "batches");
    for (int i = 0; i < 12; ++i) {
      const std::size_t lo = static_cast<std::size_t>(i % 4) * 16;
      const std::size_t hi = lo + (i % 2 == 0 ? 1 : 16);
      batches.spawn([](Executor& e, ModelPtr mm, DatasetPtr dd, std::size_t a, std::size_t b,
                       std::shared_ptr<Seen> ss) -> asio::awaitable<void> {
        const auto result = co_await e.infer(mm, dd, a, b);
        const auto direct = run_batch(*mm, make_batch(*dd, a, b, mm->info()));
        for (std::size_t q = 0; q < direct.predictions.size(); ++q) {
          if (result.predictions.at(q).label != direct.predictions[q].label) ++ss->mismatches;
        }
        ++ss->done;
      }(ex, m, d, lo, hi, s));
    }
    co_await batches.join();

    // Three wide batches: the first runs, two wait for slots and are
    // cancelled (spawned children run inline up to their first wait).
    core::TaskGroup doomed(loop, "doomed");
    for (int i = 0; i < 3; ++i) {
      doomed.spawn([](Executor& e, ModelPtr mm, DatasetPtr dd, std::shared_ptr<Seen> ss) -> asio::awaitable<void> {
        try {
          (void)co_await e.infer(mm, dd, 0, 16);
        } catch (const boost::system::system_error&) {
          ++ss->cancelled;
        }
      }(ex, m, d, s));
    }
    s->queued_before_cancel = ex.queued_batches();
    doomed.cancel();
    co_await doomed.join();
  }(executor, model, data, seen));
  EXPECT_EQ(seen->done, 12);
  EXPECT_EQ(seen->mismatches, 0);
  EXPECT_EQ(executor.wide_batches(), 6U + 1U);  // 6 of the 12, and the doomed one that ran
  EXPECT_EQ(seen->queued_before_cancel, 2U);
  EXPECT_EQ(seen->cancelled, 2);
  ASSERT_EQ(executor.slots_in_use(), 0U);
  ASSERT_EQ(executor.queued_batches(), 0U);
  // And the executor still serves.
  EXPECT_EQ(test::run_loop(io_, executor.infer(model, data, 0, 16)).predictions.size(), 16U);
}

TEST(ModelCache, EvictsLeastRecentlyUsedBeyondCapacity) {
  const ModelPtr a = make_zoo_model("lenet", 1);
  const ModelPtr b = make_zoo_model("lenet", 2);
  const ModelPtr c = make_zoo_model("lenet", 3);
  const std::size_t size = a->memory_bytes();
  ModelCache cache(2 * size);
  cache.insert("a", a);
  cache.insert("b", b);
  EXPECT_EQ(cache.find("a"), a);  // a is now the most recent
  cache.insert("c", c);           // evicts b
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(cache.keys(), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(cache.bytes(), 2 * size);
  ModelCache tiny(1);
  tiny.insert("a", a);  // kept although alone it does not fit
  EXPECT_EQ(tiny.size(), 1U);
}

// While the pool runs forward passes that each take far longer than the
// timer period, a 5 ms timer on the loop keeps firing on time.
TEST_F(ExecutorTest, EventLoopStaysResponsiveDuringInference) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(256), std::nullopt);
  const auto model = test::run_loop(io_, executor_.zoo_model("resnet-fmnist"));
  struct Observed {
    std::chrono::nanoseconds max_late{0};
    std::chrono::nanoseconds min_batch{std::chrono::hours(1)};
    int ticks = 0;
    bool done = false;
  };
  const auto observed = std::make_shared<Observed>();
  test::run_loop(io_, [](Executor& executor, ModelPtr m, DatasetPtr d, std::shared_ptr<Observed> s) -> asio::awaitable<void> {
    core::TaskGroup group(co_await asio::this_coro::executor, "test");
    group.spawn([](std::shared_ptr<Observed> o) -> asio::awaitable<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      const auto period = std::chrono::milliseconds(5);
      auto next = std::chrono::steady_clock::now() + period;
      while (!o->done) {
        timer.expires_at(next);
        co_await timer.async_wait(asio::use_awaitable);
        o->max_late = std::max(o->max_late, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - next));
        ++o->ticks;
        next += period;
      }
    }(s));
    for (int i = 0; i < 2; ++i) {
      const auto result = co_await executor.infer(m, d, 0, 256);
      s->min_batch = std::min(s->min_batch, result.processing_time);
    }
    s->done = true;
    co_await group.join();
  }(executor_, model, data, observed));
  const Observed& seen = *observed;
  using Ms = std::chrono::duration<double, std::milli>;
  std::cout << "min_batch_ms=" << Ms(seen.min_batch).count() << " max_timer_late_ms=" << Ms(seen.max_late).count()
            << " ticks=" << seen.ticks << "\n";
  ASSERT_GT(seen.min_batch, std::chrono::milliseconds(40)) << "batches too fast to show a stall";
  EXPECT_LT(seen.max_late, seen.min_batch / 2);
  EXPECT_GT(seen.ticks, 10);
}

}  // namespace
}  // namespace idunno::ml
