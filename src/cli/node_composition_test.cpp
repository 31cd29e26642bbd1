// The node's services composed as idunno-node composes them, on loopback
// ports of their own: they start in order and answer commands; the ML
// engine module loads only when the executor service starts; and the stop
// path ends a long training run in progress on the ML pool well within the
// 5 s a node has after SIGTERM, releasing every port.

#include "cli/node_composition.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/system/system_error.hpp>
#include <filesystem>
#include <memory>

#include "cli/executor_service.hpp"
#include "core/coro_test.hpp"
#include "core/task_group.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"
#include "ml/engine/engine_loader.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::filesystem::path> module_paths() {
#ifdef IDUNNO_ML_MODULE_PATH
  return {IDUNNO_ML_MODULE_PATH};
#else
  return {"no-ml-module-in-this-build.so"};
#endif
}

core::Config test_config(const std::filesystem::path& dir, std::uint16_t cluster_port, std::uint16_t console_port) {
  core::Config c;
  c.node.name = "composed";
  c.node.bind = {"127.0.0.1", cluster_port};
  c.console.bind = {"127.0.0.1", console_port};
  c.node.data_dir = dir;
  c.ml.threads = 1;
  c.ml.tensor_cache_mb = 0;
  c.node.io_threads = 1;
  return c;
}

struct Training {
  bool started = false;
  bool aborted = false;
  bool finished = false;
};

asio::awaitable<void> train_forever(ml::Engine* engine, std::shared_ptr<Training> t) {
  const auto model = co_await engine->zoo_model("lenet", 1);
  const ml::DatasetPtr data = ml::IdxDataset::from_bytes(ml::test::idx_images(64), ml::test::idx_labels(64));
  ml::TrainOptions options;
  options.epochs = 100000;
  options.batch_size = 8;
  ml::TrainCallbacks callbacks;
  callbacks.progress_every = 1;
  callbacks.on_progress = [t](const ml::TrainProgress&) { t->started = true; };
  try {
    (void)co_await engine->train(model, data, nullptr, options, callbacks);
  } catch (const boost::system::system_error& e) {
    t->aborted = e.code() == asio::error::operation_aborted;
  }
  t->finished = true;
}

bool can_bind(std::uint16_t port) {
  asio::io_context io;
  boost::system::error_code ec;
  asio::ip::tcp::acceptor tcp(io);
  tcp.open(asio::ip::tcp::v4(), ec);
  if (!ec) tcp.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

class NodeCompositionTest : public idunno::testing::CoroutineTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("idunno-composition-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

#ifdef IDUNNO_ML_MODULE_PATH
// Needs the engine module, which a build without ML has not.
TEST_F(NodeCompositionTest, StopEndsATrainingRunInProgressAndReleasesThePorts) {
  const auto config = test_config(dir_, 7791, 8791);
  auto node = std::make_unique<NodeComposition>(executor(), config, CompositionOptions{module_paths()});
  node->start();
  ml::Engine* engine = node->executor_service().engine();
  ASSERT_NE(engine, nullptr) << node->executor_service().problem();

  const auto self = run(node->dispatcher().dispatch("list_self", {}));
  ASSERT_TRUE(self.ok) << self.error;
  EXPECT_EQ(self.result.at("name").as_string(), "composed");
  const auto models = run(node->dispatcher().dispatch("models", {}));
  ASSERT_TRUE(models.ok) << models.error;
  EXPECT_GE(models.result.at("models").as_array().size(), 3U);

  core::TaskGroup jobs(executor(), "jobs");
  auto training = std::make_shared<Training>();
  jobs.spawn(train_forever(engine, training));
  ASSERT_TRUE(run_until([&] { return training->started; }, 20s));
  EXPECT_EQ(node->ml_pool().active(), 1U);

  const auto begin = Clock::now();
  const bool in_time = run(node->stop(4s));
  const auto took = Clock::now() - begin;
  std::cout << "node_stop_with_training_ms=" << std::chrono::duration<double, std::milli>(took).count() << "\n";
  EXPECT_TRUE(in_time);
  EXPECT_LT(took, 4s);
  EXPECT_EQ(node->ml_pool().active(), 0U) << "the stop path must cancel pool work";
  ASSERT_TRUE(run_until([&] { return training->finished; }));
  EXPECT_TRUE(training->aborted);
  node.reset();
  EXPECT_TRUE(can_bind(7791));
  EXPECT_TRUE(can_bind(8791));
}
#endif

TEST_F(NodeCompositionTest, WithoutTheModuleMlCommandsSaySoAndTheNodeStillRuns) {
  const auto config = test_config(dir_, 7792, 8792);
  NodeComposition node(executor(), config, CompositionOptions{{dir_ / "no-such-module.so"}});
  node.start();
  EXPECT_EQ(node.executor_service().engine(), nullptr);
  const auto models = run(node.dispatcher().dispatch("models", {}));
  EXPECT_FALSE(models.ok);
  if (ml::engine_built()) {
    EXPECT_NE(models.error.find("is missing"), std::string::npos) << models.error;
  } else {
    EXPECT_NE(models.error.find("IDUNNO_BUILD_ML=OFF"), std::string::npos) << models.error;
  }
  EXPECT_TRUE(run(node.dispatcher().dispatch("list_mem", {})).ok);
  EXPECT_TRUE(run(node.stop(2s)));
}

TEST_F(NodeCompositionTest, APortInUseFailsTheStartNamingTheAddress) {
  asio::io_context other;
  asio::ip::tcp::acceptor holder(other, {asio::ip::make_address("127.0.0.1"), 7793});
  const auto config = test_config(dir_, 7793, 8793);
  try {
    NodeComposition node(executor(), config, CompositionOptions{module_paths()});
    FAIL() << "a taken port must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("7793"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace idunno::cli
