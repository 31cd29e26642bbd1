#include "cli/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>

#include "cli/command_dispatcher.hpp"
#include "cli/node_composition.hpp"
#include "cli/terminal.hpp"
#include "core/logging.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
// The whole graceful stop (leave, drain, close) must fit in this, so that the
// process exits within the 5 s CONTRACT.md promises.
constexpr auto kStopBudget = 4s;
}  // namespace

Node::Node(core::Config config, bool repl) : config_(std::move(config)), repl_(repl) {}

Node::~Node() = default;

int Node::run() {
  std::string log_error;
  if (!core::init_logging(config_.node.data_dir, config_.node_name(), config_.node.log_level, &log_error)) {
    std::fprintf(stderr, "idunno-node: cannot open the log in %s: %s\n", config_.node.data_dir.c_str(),
                 log_error.c_str());
    return 1;
  }
  try {
    services_ = std::make_unique<NodeComposition>(io_.get_executor(), config_);
    services_->start();
  } catch (const std::exception& e) {
    spdlog::error("event=node_start_failed error={}", core::log_quote(e.what()));
    services_.reset();
    return 1;
  }
  spdlog::info("event=node_started name={} bind={} console={} data_dir={}", config_.node_name(),
               config_.node.bind.to_string(), config_.console.bind.to_string(), config_.node.data_dir.string());

  bool stopping = false;
  auto request_stop = [this, &stopping](const char* reason) {
    if (stopping) return;
    stopping = true;
    spdlog::info("event=node_stopping reason={}", reason);
    // Hard bound: whatever still runs after the budget is abandoned.
    auto hard_stop = std::make_shared<asio::steady_timer>(io_, kStopBudget + 500ms);
    hard_stop->async_wait([this, hard_stop](boost::system::error_code ec) {
      if (!ec) {
        spdlog::warn("event=node_stop_forced");
        io_.stop();
      }
    });
    asio::co_spawn(io_, services_->stop(kStopBudget), [this, hard_stop](std::exception_ptr error, bool in_time) {
      if (error) spdlog::warn("event=node_stop_error");
      if (!in_time) spdlog::warn("event=node_stop_over_budget");
      hard_stop->cancel();
      io_.stop();
    });
  };

  asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (!ec) request_stop(signal_number == SIGINT ? "sigint" : "sigterm");
  });

  std::unique_ptr<Terminal> terminal;
  if (repl_ && ::isatty(STDIN_FILENO)) {
    terminal = std::make_unique<Terminal>(
        config_.node_name() + "> ", config_.node.data_dir / "history",
        [this](const std::string& line) { return run_terminal_line(line); },
        [this, &request_stop] { asio::post(io_, [&request_stop] { request_stop("terminal_closed"); }); });
    terminal->start();
  }

  io_.run();
  if (terminal) terminal->stop();
  if (services_->ml_pool().active() + services_->io_pool().active() > 0) {
    // A pool job that did not stop at its token within the budget (a single
    // LibTorch operation longer than that): joining it would break the
    // promised exit time, and the services are stopped, so exit without it.
    spdlog::warn("event=node_stopped abandoned_pool_jobs={}",
                 services_->ml_pool().active() + services_->io_pool().active());
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  services_.reset();
  spdlog::info("event=node_stopped");
  spdlog::default_logger()->flush();
  return 0;
}

std::string Node::run_terminal_line(const std::string& line) {
  ParsedLine parsed;
  try {
    parsed = parse_line(line);
  } catch (const ParseError& e) {
    return std::string("error: ") + e.what();
  }
  if (parsed.name.empty()) return "";
  auto future = asio::co_spawn(io_, services_->dispatcher().dispatch(parsed.name, parsed.args, CommandOrigin::terminal), asio::use_future);
  while (future.wait_for(100ms) != std::future_status::ready) {
    if (io_.stopped()) return "error: the node is stopping";
  }
  const auto outcome = future.get();
  if (!outcome.ok) return "error: " + outcome.error;
  if (parsed.json) return json::serialize(outcome.result);
  return render_text(services_->dispatcher().table(), parsed.name, outcome.result);
}

}  // namespace idunno::cli
