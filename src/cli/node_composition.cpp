#include "cli/node_composition.hpp"

#include <spdlog/spdlog.h>

#include "cli/console_directory.hpp"
#include "cli/console_service.hpp"
#include "cli/coordinator_service.hpp"
#include "cli/event_feed.hpp"
#include "cli/executor_service.hpp"
#include "cli/job_service.hpp"
#include "cli/log_level_command.hpp"
#include "cli/log_search_service.hpp"
#include "cli/membership_service.hpp"
#include "cli/online_service.hpp"
#include "cli/sdfs_service.hpp"
#include "cli/transport_service.hpp"
#include "core/logging.hpp"
#include "ml/engine/engine_loader.hpp"

namespace idunno::cli {

namespace asio = boost::asio;

NodeComposition::NodeComposition(asio::any_io_executor executor, const core::Config& config,
                                 CompositionOptions options)
    : config_(config),
      ml_pool_(static_cast<std::size_t>(config.ml.threads), "ml"),
      io_pool_(static_cast<std::size_t>(config.node.io_threads), "io"),
      dispatcher_(CommandTable::builtin()) {
  bind_log_level_command(dispatcher_);
  transport_ = std::make_unique<TransportService>(executor, config_);
  membership_ = std::make_unique<MembershipService>(executor, config_, *transport_, dispatcher_, metrics_, events_,
                                                    started_at_);
  coordinator_ =
      std::make_unique<CoordinatorService>(executor, config_, *transport_, *membership_, dispatcher_, metrics_,
                                           std::vector<HostedMachine>{{"sdfs", &namespace_}, {"jobs", &jobs_table_}});
  sdfs_ = std::make_unique<SdfsService>(executor, config_, *transport_, *membership_, *coordinator_, namespace_,
                                        io_pool_, dispatcher_, metrics_, *http_routes_);
  log_search_ = std::make_unique<LogSearchService>(config_, *transport_, *membership_, io_pool_, dispatcher_);
  executor_service_ = std::make_unique<ExecutorService>(
      ml_pool_, config_.ml, dispatcher_, metrics_,
      options.ml_module_paths.empty() ? ml::default_module_paths() : options.ml_module_paths);
  jobs_ = std::make_unique<JobService>(executor, config_, *transport_, *membership_, *coordinator_, jobs_table_, *sdfs_,
                                       *executor_service_, dispatcher_, metrics_);
  event_feed_ = std::make_unique<EventFeed>(executor, coordinator_->raft(), dispatcher_, events_);
  online_ = std::make_unique<OnlineService>(executor, config_, *transport_, *membership_, *coordinator_, *sdfs_,
                                            *executor_service_, metrics_, *http_routes_);
  console_ = std::make_unique<ConsoleService>(executor, config_.console, dispatcher_, metrics_, events_, http_routes_);
  consoles_ = std::make_unique<ConsoleDirectory>(executor, config_, *transport_, *membership_, dispatcher_, [this] {
    return console_url(console_->local_address(), config_.advertise_address().host);
  });
  console_->set_trusted_origin([this](std::string_view origin) { return consoles_->trusted_origin(origin); });
  sdfs_->set_console_lookup([this](const std::string& node) { return consoles_->url_of(node); });
  // The executor starts before membership and consensus: loading LibTorch
  // takes most of a second, during which the loop does not run yet, and
  // their timers must start from when the node can actually answer.
  order_ = {transport_.get(), executor_service_.get(), membership_.get(), coordinator_.get(),
            sdfs_.get(),      log_search_.get(),       jobs_.get(),       event_feed_.get(), online_.get(),
            console_.get(),   consoles_.get()};
}

NodeComposition::~NodeComposition() {
  // Newest first, as they were built.
  consoles_.reset();
  console_.reset();
  online_.reset();
  event_feed_.reset();
  jobs_.reset();
  executor_service_.reset();
  log_search_.reset();
  sdfs_.reset();
  coordinator_.reset();
  membership_.reset();
  transport_.reset();
}

std::vector<std::string> NodeComposition::sdfs_names() const {
  std::vector<std::string> names;
  for (const auto& file : namespace_.list("")) names.push_back(file.name);
  return names;
}

void NodeComposition::start() {
  for (Service* service : order_) {
    service->start();
    ++started_;
  }
}

asio::awaitable<bool> NodeComposition::stop(std::chrono::milliseconds budget) {
  const StopDeadline deadline{std::chrono::steady_clock::now() + budget};
  for (std::size_t i = started_; i-- > 0;) co_await order_[i]->drain(deadline);
  for (std::size_t i = started_; i-- > 0;) {
    co_await order_[i]->stop(deadline);
    spdlog::debug("event=service_stopped service={} left_ms={}", order_[i]->name(), deadline.left().count());
  }
  started_ = 0;
  ml_pool_.cancel_all();
  io_pool_.cancel_all();
  const bool ml_idle = co_await ml_pool_.wait_idle(deadline.at);
  const bool io_idle = co_await io_pool_.wait_idle(deadline.at);
  co_return ml_idle && io_idle && deadline.left().count() > 0;
}

}  // namespace idunno::cli
