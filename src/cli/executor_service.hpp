#pragma once
// The ML executor as a node service: loads the ML engine (LibTorch, from
// the idunno-ml.so module) when the node starts, binds the ML commands and
// metrics, and cancels the engine's pool work when the node stops.
//
// Why: the node must not load LibTorch before its options are valid (a
// usage error or --help answers in milliseconds), and a node built without
// ML must say so when asked to run a model. The engine runs every forward
// pass and training run on the node's ML pool; on SIGTERM, drain() cancels
// them (a training run stops at its next step) so that the node exits
// within its stop budget even mid-training.
//
// Event loop only. The ML pool outlives the service.

#include <boost/json/value.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/thread_pool.hpp"
#include "ml/engine/engine.hpp"
#include "ml/engine/engine_loader.hpp"

namespace idunno::cli {

class ExecutorService final : public Service {
 public:
  // `module_paths`: where to look for the engine module (tests point at
  // the build tree).
  ExecutorService(core::ThreadPool& ml_pool, core::MlSection ml, CommandDispatcher& dispatcher,
                  core::MetricsRegistry& metrics,
                  std::vector<std::filesystem::path> module_paths = ml::default_module_paths());
  ~ExecutorService() override;

  std::string_view name() const override { return "executor"; }
  // Loads the engine. Without one the node still runs; ML commands then
  // fail with the reason (never throws for that).
  void start() override;
  boost::asio::awaitable<void> drain(StopDeadline deadline) override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  // Null without an engine (then problem() says why).
  ml::Engine* engine() { return engine_.get(); }
  // Jobs queued or running on the ML pool and on the engine's own threads.
  std::size_t active_jobs() const;
  const std::string& problem() const { return problem_; }

 private:
  ml::Engine& require_engine();
  void write_metrics(core::MetricsWriter& writer) const;
  boost::asio::awaitable<boost::json::value> models(std::vector<std::string> args);

  core::ThreadPool& ml_pool_;
  core::MlSection ml_;
  std::vector<std::filesystem::path> module_paths_;
  std::unique_ptr<ml::Engine> engine_;
  std::string problem_ = "the ML engine has not been loaded yet";
  bool stopped_in_time_ = true;
};

}  // namespace idunno::cli
