#include "cli/node.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <cerrno>
#include <functional>
#include <future>
#include <optional>
#include <system_error>

#include "cli/command_dispatcher.hpp"
#include "cli/executor_service.hpp"
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
// While the prompt is up the terminal shows only warnings and errors (the
// log file keeps everything); `log-level` changes that.
constexpr auto kTerminalLogLevel = spdlog::level::warn;
// How long the completion waits for the loop's list of SDFS names, and how
// long a list is reused.
constexpr auto kNamesWait = 200ms;
constexpr auto kNamesFresh = 500ms;

// SIGINT in the terminal mode, told apart by where it came from: Ctrl-C typed
// at the terminal (the line discipline sends it with si_code SI_KERNEL)
// cancels the command or clears the line; a SIGINT sent by a process
// (`kill -INT`, SI_USER) stops the node gracefully as it does without the
// terminal. asio's signal_set does not expose siginfo, so a SA_SIGINFO
// handler writes one byte per signal into a pipe the loop reads.
class SigintSource {
 public:
  explicit SigintSource(asio::io_context& io) : pipe_(io) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::system_category(), "pipe2");
    pipe_.assign(fds[0]);
    write_fd_ = fds[1];
    struct sigaction action{};
    action.sa_sigaction = &SigintSource::on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &previous_);
  }
  ~SigintSource() {
    ::sigaction(SIGINT, &previous_, nullptr);
    ::close(write_fd_);
    write_fd_ = -1;
  }
  SigintSource(const SigintSource&) = delete;
  SigintSource& operator=(const SigintSource&) = delete;

  // Calls `typed(true)` for a Ctrl-C from the terminal, `typed(false)` for
  // any other SIGINT, until the source is destroyed.
  void async_wait(std::function<void(bool)> typed) {
    pipe_.async_read_some(asio::buffer(byte_),
                          [this, typed = std::move(typed)](boost::system::error_code ec, std::size_t n) mutable {
                            if (ec || n == 0) return;
                            const bool from_terminal = byte_[0] == 'k';
                            typed(from_terminal);
                          });
  }

 private:
  static void on_signal(int /*signal*/, siginfo_t* info, void* /*context*/) {
    const char byte = info->si_code == SI_KERNEL ? 'k' : 'u';
    const int saved = errno;
    [[maybe_unused]] const auto written = ::write(write_fd_, &byte, 1);
    errno = saved;
  }

  static inline int write_fd_ = -1;  // one source per process (the node's)
  asio::posix::stream_descriptor pipe_;
  std::array<char, 1> byte_{};
  struct sigaction previous_{};
};

Terminal::Running finished(std::string text) {
  std::promise<std::string> done;
  done.set_value(std::move(text));
  return Terminal::Running{done.get_future(), {}, nullptr};
}
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
  const bool interactive = repl_ && ::isatty(STDIN_FILENO);
  if (interactive) {
    // From the start: the services' start-up lines would bury the prompt.
    core::set_console_log_level(std::max(core::console_log_level(), kTerminalLogLevel));
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

  std::unique_ptr<Terminal> terminal;
  if (interactive) {
    Terminal::Options options;
    options.prompt = config_.node_name() + "> ";
    options.history_file = config_.node.data_dir / "history";
    options.banner = config_.node_name() + " is up (cluster " + config_.node.bind.to_string() + ", console " +
                     config_.console.bind.to_string() + "); its log is " +
                     (config_.node.data_dir / "node.log").string() + ".\nThis terminal shows " +
                     core::log_level_name(core::console_log_level()) +
                     " and above (log-level info shows more). Type help for the commands, Tab completes, Ctrl-C "
                     "cancels a command, exit stops the node.";
    options.run_line = [this](const std::string& line) { return start_terminal_line(line); };
    options.sdfs_names = [this] { return terminal_sdfs_names(); };
    options.on_end = [this, &request_stop] { asio::post(io_, [&request_stop] { request_stop("terminal_closed"); }); };
    terminal = std::make_unique<Terminal>(std::move(options));
  }

  // Without the terminal SIGINT and SIGTERM stop the node. In the terminal
  // mode Ctrl-C cancels the command or clears the line, as in a shell;
  // SIGTERM, a SIGINT sent by another process, exit, quit and Ctrl-D stop it.
  asio::signal_set signals(io_, SIGTERM);
  if (!terminal) signals.add(SIGINT);
  signals.async_wait([&request_stop](boost::system::error_code ec, int signal_number) {
    if (!ec) request_stop(signal_number == SIGINT ? "sigint" : "sigterm");
  });
  std::optional<SigintSource> sigint;
  std::function<void(bool)> on_sigint = [&](bool from_terminal) {
    if (from_terminal && terminal->running() && !stopping) {
      terminal->interrupt();
      sigint->async_wait(on_sigint);
      return;
    }
    request_stop("sigint");
  };
  if (terminal) {
    sigint.emplace(io_);
    sigint->async_wait(on_sigint);
  }

  if (terminal) terminal->start();

  io_.run();
  if (terminal) terminal->stop();
  const std::size_t abandoned = services_->executor_service().active_jobs() + services_->io_pool().active();
  if (abandoned > 0) {
    // A pool job that did not stop at its token within the budget (a single
    // LibTorch operation longer than that, or a training rank blocked in a
    // collective): joining it would break the promised exit time, and the
    // services are stopped, so exit without it.
    spdlog::warn("event=node_stopped abandoned_pool_jobs={}", abandoned);
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  services_.reset();
  spdlog::info("event=node_stopped");
  spdlog::default_logger()->flush();
  return 0;
}

Terminal::Running Node::start_terminal_line(const std::string& line) {
  ParsedLine parsed;
  try {
    parsed = parse_line(line);
  } catch (const ParseError& e) {
    return finished(std::string("error: ") + e.what());
  }
  if (parsed.name.empty()) return finished("");
  if (io_.stopped()) return finished("error: the node is stopping");
  auto progress = std::make_shared<CommandProgress>();
  auto cancel = std::make_shared<asio::cancellation_signal>();
  auto text = std::make_shared<std::promise<std::string>>();
  Terminal::Running running{
      text->get_future(),
      [this, cancel] { asio::post(io_, [cancel] { cancel->emit(asio::cancellation_type::terminal); }); }, progress};
  asio::post(io_, [this, parsed = std::move(parsed), progress, cancel, text]() mutable {
    CommandDispatcher& dispatcher = services_->dispatcher();
    auto done = [this, name = parsed.name, json_output = parsed.json, cancel, text, &dispatcher](
                    std::exception_ptr error, net::console::CommandOutcome outcome) mutable {
      if (error) {
        text->set_value("error: the command ended unexpectedly");
      } else if (!outcome.ok) {
        text->set_value("error: " + outcome.error);
      } else if (json_output) {
        text->set_value(json::serialize(outcome.result));
      } else {
        text->set_value(render_text(dispatcher.table(), name, outcome.result));
      }
      // The signal's slot is in use until the coroutine's frame is gone:
      // release it on a later turn of the loop.
      asio::post(io_, [cancel = std::move(cancel)] {});
    };
    asio::co_spawn(io_, dispatcher.dispatch(parsed.name, std::move(parsed.args), CommandOrigin::terminal, progress),
                   asio::bind_cancellation_slot(cancel->slot(), std::move(done)));
  });
  return running;
}

std::vector<std::string> Node::terminal_sdfs_names() {
  const auto now = std::chrono::steady_clock::now();
  if (now - sdfs_names_at_ < kNamesFresh) return sdfs_names_cache_;
  auto names = std::make_shared<std::promise<std::vector<std::string>>>();
  auto answer = names->get_future();
  asio::post(io_, [this, names] { names->set_value(services_->sdfs_names()); });
  if (answer.wait_for(kNamesWait) == std::future_status::ready) {
    sdfs_names_cache_ = answer.get();
    sdfs_names_at_ = now;
  }
  return sdfs_names_cache_;
}

}  // namespace idunno::cli
