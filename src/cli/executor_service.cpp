#include "cli/executor_service.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/logging.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

ExecutorService::ExecutorService(core::ThreadPool& ml_pool, core::MlSection ml, CommandDispatcher& dispatcher,
                                 core::MetricsRegistry& metrics, std::vector<std::filesystem::path> module_paths)
    : ml_pool_(ml_pool), ml_(ml), module_paths_(std::move(module_paths)) {
  dispatcher.bind("models", [this](std::vector<std::string> args) { return models(std::move(args)); });
  metrics.add([this](core::MetricsWriter& w) { write_metrics(w); });
}

ExecutorService::~ExecutorService() = default;

void ExecutorService::start() {
  const auto begin = std::chrono::steady_clock::now();
  auto loaded = ml::load_engine(ml::EngineRequest{&ml_pool_, ml_}, module_paths_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (!loaded.engine) {
    problem_ = loaded.problem;
    spdlog::warn("event=ml_engine_unavailable reason={}", core::log_quote(problem_));
    return;
  }
  engine_ = std::move(loaded.engine);
  problem_.clear();
  const auto blas = ml::loaded_blas();
  spdlog::info("event=ml_engine_loaded seconds={:.3f} threads={} blas={}", seconds, ml_pool_.size(),
               core::log_quote(blas.string()));
  if (ml::is_reference_blas(blas)) {
    spdlog::warn("event=ml_reference_blas path={} reason={}", core::log_quote(blas.string()),
                 core::log_quote("LibTorch runs on the reference BLAS, which makes small models such as lenet about 2x "
                                 "slower; install an optimised one (apt-get install libopenblas0-openmp)"));
  }
}

asio::awaitable<void> ExecutorService::drain(StopDeadline deadline) {
  // Cancels every forward pass and training run (a run stops at its next
  // step) and waits for the pool, so whatever awaited the engine has
  // unwound before the services it uses stop.
  ml_pool_.cancel_all();
  if (engine_) stopped_in_time_ = co_await engine_->stop(deadline.at);
}

asio::awaitable<void> ExecutorService::stop(StopDeadline deadline) {
  const bool idle = co_await ml_pool_.wait_idle(deadline.at);
  if (!idle || !stopped_in_time_) {
    spdlog::warn("event=ml_pool_not_idle active={}", active_jobs());
  }
}

std::size_t ExecutorService::active_jobs() const {
  return ml_pool_.active() + (engine_ ? engine_->stats().own_thread_jobs : 0);
}

ml::Engine& ExecutorService::require_engine() {
  if (!engine_) throw CommandError(problem_);
  return *engine_;
}

void ExecutorService::write_metrics(core::MetricsWriter& w) const {
  w.gauge("ml_engine_loaded", "1 when this node runs models", engine_ ? 1.0 : 0.0);
  w.gauge("ml_pool_jobs", "jobs queued or running on the ML pool", static_cast<double>(ml_pool_.active()));
  if (!engine_) return;
  const auto stats = engine_->stats();
  w.gauge("ml_slots", "executor slots (one per ML thread)", static_cast<double>(stats.slots));
  w.gauge("ml_slots_in_use", "executor slots held by batches and training runs",
          static_cast<double>(stats.slots_in_use));
  w.gauge("ml_queued", "batches and training runs waiting for slots", static_cast<double>(stats.queued));
  w.gauge("ml_training_runs", "training runs in progress", static_cast<double>(stats.training_runs));
  w.counter("ml_batches_total", "inference batches run", static_cast<double>(stats.batches));
  w.counter("ml_wide_batches_total", "inference batches that ran wide", static_cast<double>(stats.wide_batches));
}

asio::awaitable<json::value> ExecutorService::models(std::vector<std::string> /*args*/) {
  json::array models;
  for (const auto& m : require_engine().models()) {
    json::array input;
    for (auto d : m.input.to_vector()) input.push_back(d);
    models.push_back(json::object{{"name", m.name},
                                  {"source", std::string(ml::to_string(m.source))},
                                  {"input", std::move(input)},
                                  {"classes", m.classes}});
  }
  co_return json::object{{"models", std::move(models)}};
}

}  // namespace idunno::cli
