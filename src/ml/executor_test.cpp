// The executor: shard inference through the pool, deterministic results,
// model cache and listing, and an event loop that keeps ticking while the
// pool computes.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>

#include "core/coro_test.hpp"
#include "core/task_group.hpp"
#include "ml/base/errors.hpp"
#include "ml/executor.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/inference.hpp"
#include "ml/base/test_util.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

namespace asio = boost::asio;

class ExecutorTest : public idunno::testing::CoroutineTest {
 protected:
  core::ThreadPool pool_{2};
  Executor executor_{pool_, ExecutorOptions{}};
};

TEST_F(ExecutorTest, ShardResultsAreInQueryOrderAndDeterministic) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(100), test::idx_labels(100));
  const auto model = run(executor_.zoo_model("lenet", 5));
  const auto one = run(executor_.infer_shard(model, data, 10, 90, 16, 1));
  const auto two = run(executor_.infer_shard(model, data, 10, 90, 16, 2));
  EXPECT_EQ(one.queries, 80U);
  EXPECT_EQ(one.labelled, 80U);
  EXPECT_EQ(one.batch_times.size(), 5U);
  EXPECT_EQ(one.text, two.text);
  EXPECT_EQ(executor_.batches(), 10U);  // both shards' 5 batches, counted once each
  EXPECT_EQ(executor_.stats().batches, 10U);
  EXPECT_EQ(executor_.stats().wide_batches, 0U);
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
  const auto model = run(executor_.zoo_model("lenet"));
  const auto result = run(executor_.infer(model, data, 0, 8));
  ASSERT_EQ(result.predictions.size(), 8U);
  EXPECT_GT(result.processing_time.count(), 0);
  EXPECT_EQ(result.labelled, 8U);
  EXPECT_LE(result.correct, 8U);
  EXPECT_THROW(run(executor_.infer(model, data, 4, 9)), DatasetError);
}

TEST_F(ExecutorTest, CachesModelsAndListsLoadedOnes) {
  const auto a = run(executor_.zoo_model("lenet", 1));
  const auto b = run(executor_.zoo_model("lenet", 1));
  EXPECT_EQ(a.get(), b.get());
  const std::string bytes = make_zoo_model("lenet", 2)->save_bytes();
  LoadOptions options{.name = "models/mine", .source = ModelSource::sdfs, .input = {}, .normalization = {}};
  const auto loaded = run(executor_.load_model("sdfs:models/mine@1", bytes, options));
  EXPECT_EQ(executor_.cached("sdfs:models/mine@1").get(), loaded.get());
  const auto models = executor_.models();
  ASSERT_EQ(models.size(), 4U);
  EXPECT_EQ(models[3].name, "models/mine");
  EXPECT_EQ(models[3].source, ModelSource::sdfs);
  EXPECT_EQ(models[3].input, (ImageShape{1, 28, 28}));
  EXPECT_EQ(models[3].classes, 10);
  EXPECT_THROW(run(executor_.load_model("bad", "junk", options)), ModelError);
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
  const auto model = run(executor_.zoo_model("resnet-fmnist", 3));
  const auto narrow_result = run(executor_.infer(model, data, 0, 64));
  EXPECT_EQ(executor_.wide_batches(), 0U);  // by default no batch runs wide
  const auto wide_result = run(wide.infer(model, data, 0, 64));
  EXPECT_EQ(wide.wide_batches(), 1U);
  ASSERT_EQ(wide_result.predictions.size(), 64U);
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(wide_result.predictions[i].index, narrow_result.predictions[i].index);
    EXPECT_EQ(wide_result.predictions[i].label, narrow_result.predictions[i].label);
    EXPECT_NEAR(wide_result.predictions[i].score, narrow_result.predictions[i].score, 1e-4);
  }
  EXPECT_EQ(wide.slots_in_use(), 0U);
}

// Wraps a dataset so that a test knows when a batch is running on a pool
// thread, not merely queued: the first image() read reports "started" and
// holds that batch until the test opens the gate (bounded, so a failing test
// cannot leave a pool thread blocked). Counts every read, so a test also
// sees which batches never ran.
class HeldDataset final : public Dataset {
 public:
  explicit HeldDataset(DatasetPtr inner) : inner_(std::move(inner)) {}
  ~HeldDataset() override { open(); }

  std::size_t size() const override { return inner_->size(); }
  std::size_t first_index() const override { return inner_->first_index(); }
  Image image(std::size_t index) const override {
    std::unique_lock lock(mutex_);
    ++reads_;
    if (!started_) {
      started_ = true;
      changed_.notify_all();
      changed_.wait_for(lock, hold_limit, [this] { return open_; });
    }
    return inner_->image(index);
  }
  std::optional<std::int64_t> label(std::size_t index) const override { return inner_->label(index); }
  bool has_labels() const override { return inner_->has_labels(); }
  std::int64_t classes() const override { return inner_->classes(); }
  ImageShape sample_shape() const override { return inner_->sample_shape(); }
  std::string describe() const override { return "held " + inner_->describe(); }

  // Blocks the calling thread until a batch has started reading; false
  // after `limit`.
  bool wait_started(std::chrono::steady_clock::duration limit) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [this] { return started_; });
  }
  void open() const {
    const std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  std::size_t reads() const {
    const std::lock_guard lock(mutex_);
    return reads_;
  }

 private:
  static constexpr std::chrono::seconds hold_limit{20};
  DatasetPtr inner_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable bool started_ = false;
  mutable bool open_ = false;
  mutable std::size_t reads_ = 0;
};

// Narrow and wide batches from many coroutines share the pool's slots and
// all complete with the right answers; batches cancelled while waiting for
// slots leave without running while the one holding the slots finishes;
// every slot comes back.
TEST_F(ExecutorTest, BatchesShareThePoolSlotsAndGiveThemBack) {
  const DatasetPtr data = IdxDataset::from_bytes(test::idx_images(64), test::idx_labels(64));
  // lenet: 784 floats per image; batches of 16 (12,544 floats) run wide.
  Executor executor(pool_, ExecutorOptions{.wide_batch_elements = 5000});
  const auto model = run(executor.zoo_model("lenet", 2));
  struct Seen {
    int done = 0;
    int mismatches = 0;
    int cancelled = 0;
    int completed_after_cancel = 0;
    bool started = false;
    std::size_t queued_before_cancel = 0;
  };
  const auto seen = std::make_shared<Seen>();
  run([](Executor* ex, ModelPtr m, DatasetPtr d, std::shared_ptr<Seen> s) -> asio::awaitable<void> {
    const auto loop = co_await asio::this_coro::executor;
    core::TaskGroup batches(loop, "batches");
    for (int i = 0; i < 12; ++i) {
      const std::size_t lo = static_cast<std::size_t>(i % 4) * 16;
      const std::size_t hi = lo + (i % 2 == 0 ? 1 : 16);
      batches.spawn([](Executor* e, ModelPtr mm, DatasetPtr dd, std::size_t a, std::size_t b,
                       std::shared_ptr<Seen> ss) -> asio::awaitable<void> {
        const auto result = co_await e->infer(mm, dd, a, b);
        const auto direct = run_batch(*mm, make_batch(*dd, a, b, mm->info()));
        for (std::size_t q = 0; q < direct.predictions.size(); ++q) {
          if (result.predictions.at(q).label != direct.predictions[q].label) ++ss->mismatches;
        }
        ++ss->done;
      }(ex, m, d, lo, hi, s));
    }
    co_await batches.join();
  }(&executor, model, data, seen));
  EXPECT_EQ(seen->done, 12);
  EXPECT_EQ(seen->mismatches, 0);
  EXPECT_EQ(executor.wide_batches(), 6U);  // the 6 batches of 16
  const std::size_t batches_before_cancel = executor.batches();

  // Three wide batches: the first takes every slot and starts on the wide
  // thread, where the held dataset keeps it; the other two wait for slots
  // (spawned children run inline up to their first wait). All three are
  // cancelled while the first is known to be running: it still finishes,
  // the two waiting ones leave without reading a sample.
  const auto held = std::make_shared<HeldDataset>(data);
  run([](Executor* ex, ModelPtr m, std::shared_ptr<HeldDataset> h, std::shared_ptr<Seen> s) -> asio::awaitable<void> {
    core::TaskGroup doomed(co_await asio::this_coro::executor, "doomed");
    for (int i = 0; i < 3; ++i) {
      doomed.spawn([](Executor* e, ModelPtr mm, DatasetPtr dd, std::shared_ptr<Seen> ss) -> asio::awaitable<void> {
        try {
          (void)co_await e->infer(mm, dd, 0, 16);
          ++ss->completed_after_cancel;
        } catch (const boost::system::system_error&) {
          ++ss->cancelled;
        }
      }(ex, m, h, s));
    }
    s->queued_before_cancel = ex->queued_batches();
    // The wide thread needs nothing from this loop to start the batch, so
    // waiting for it here (a bounded wait on an event) is safe.
    s->started = h->wait_started(std::chrono::seconds(20));
    doomed.cancel();
    h->open();
    co_await doomed.join();
  }(&executor, model, held, seen));
  ASSERT_TRUE(seen->started) << "the first wide batch never started on the wide thread";
  EXPECT_EQ(seen->queued_before_cancel, 2U);
  EXPECT_EQ(seen->completed_after_cancel, 1);
  EXPECT_EQ(seen->cancelled, 2);
  EXPECT_EQ(held->reads(), 16U) << "only the running batch read its samples";
  EXPECT_EQ(executor.wide_batches(), 6U + 1U);  // and the doomed one that ran
  EXPECT_EQ(executor.batches(), batches_before_cancel + 1U);  // the cancelled ones never ran
  ASSERT_EQ(executor.slots_in_use(), 0U);
  ASSERT_EQ(executor.queued_batches(), 0U);
  // And the executor still serves.
  EXPECT_EQ(run(executor.infer(model, data, 0, 16)).predictions.size(), 16U);
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
// timer period, a 5 ms timer on the loop keeps firing on time. The batch is
// sized to this machine: it grows until one forward pass takes at least
// `long_batch`, so a fast machine gets bigger batches rather than a test
// that cannot tell a stall from a quick batch.
TEST_F(ExecutorTest, EventLoopStaysResponsiveDuringInference) {
  using namespace std::chrono_literals;
  using Ms = std::chrono::duration<double, std::milli>;
  constexpr auto long_batch = 150ms;
  constexpr std::uint32_t max_images = 8192;
  const auto model = run(executor_.zoo_model("resnet-fmnist"));
  std::uint32_t images = 64;
  DatasetPtr data = IdxDataset::from_bytes(test::idx_images(images), std::nullopt);
  auto took = run(executor_.infer(model, data, 0, images)).processing_time;
  while (took < long_batch && images < max_images) {
    // Aim a little past the target; at least double, at most 16 times.
    const double factor = std::clamp(1.5 * Ms(long_batch).count() / std::max(Ms(took).count(), 0.01), 2.0, 16.0);
    images = std::min(max_images, static_cast<std::uint32_t>(images * factor));
    data = IdxDataset::from_bytes(test::idx_images(images), std::nullopt);
    took = run(executor_.infer(model, data, 0, images)).processing_time;
  }
  std::cout << "calibrated_images=" << images << " calibration_batch_ms=" << Ms(took).count() << "\n";

  struct Observed {
    std::chrono::nanoseconds max_late{0};
    std::chrono::nanoseconds min_batch{std::chrono::hours(1)};
    int ticks = 0;
    bool done = false;
  };
  const auto observed = std::make_shared<Observed>();
  run([](Executor* executor, ModelPtr m, DatasetPtr d, std::size_t n,
         std::shared_ptr<Observed> s) -> asio::awaitable<void> {
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
      const auto result = co_await executor->infer(m, d, 0, n);
      s->min_batch = std::min(s->min_batch, result.processing_time);
    }
    s->done = true;
    co_await group.join();
  }(&executor_, model, data, images, observed));
  const Observed& seen = *observed;
  std::cout << "min_batch_ms=" << Ms(seen.min_batch).count() << " max_timer_late_ms=" << Ms(seen.max_late).count()
            << " ticks=" << seen.ticks << "\n";
  // A loop blocked by a batch would be late by about a batch's length.
  ASSERT_GT(seen.min_batch, 8 * 5ms) << "even " << images << " images per batch run too fast to show a stall";
  EXPECT_LT(seen.max_late, seen.min_batch / 2);
  // Two batches of at least 40 ms each: a responsive loop ticked at least
  // once per 10 ms of them.
  EXPECT_GT(seen.ticks, static_cast<int>(2 * seen.min_batch / 10ms));
}

}  // namespace
}  // namespace idunno::ml
