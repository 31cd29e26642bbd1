#include "cli/terminal.hpp"

#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

#include "cli/client/progress_bar.hpp"
#include "cli/commands/completion.hpp"
#include "core/logging.hpp"

namespace idunno::cli {

using namespace std::chrono_literals;

namespace {
// libedit's callback interface hands complete lines and completion requests
// to plain functions; only one Terminal runs per process, so what they need
// lives here (touched only on the terminal's thread).
std::string* g_pending_line = nullptr;
bool g_line_ready = false;
bool g_eof = false;
const Terminal::NameSource* g_sdfs_names = nullptr;
std::vector<std::string> g_candidates;
std::size_t g_next_candidate = 0;

// Log lines queued while nobody draws them are dropped beyond this.
constexpr std::size_t kMaxQueuedLogLines = 1000;
// A command shows its progress once it has run this long.
constexpr auto kProgressAfter = 1s;
constexpr auto kProgressEvery = 200ms;

void on_line(char* line) {
  if (!line) {
    g_eof = true;
    return;
  }
  *g_pending_line = line;
  std::free(line);
  g_line_ready = true;
}

char* next_candidate(const char* /*text*/, int state) {
  if (state == 0) g_next_candidate = 0;
  if (g_next_candidate >= g_candidates.size()) return nullptr;
  return ::strdup(g_candidates[g_next_candidate++].c_str());
}

char** complete(const char* text, int start, int /*end*/) {
  const std::string before(rl_line_buffer, static_cast<std::size_t>(std::max(start, 0)));
  // The first word is a command name: no need to ask for SDFS names.
  const bool first_word = before.find_first_not_of(" \t") == std::string::npos;
  const std::vector<std::string> names =
      !first_word && g_sdfs_names && *g_sdfs_names ? (*g_sdfs_names)() : std::vector<std::string>{};
  Completion completion = complete_word(CommandTable::builtin(), before, text, names);
  if (completion.local_path) {
    rl_attempted_completion_over = 0;  // libedit completes file names
    return nullptr;
  }
  rl_attempted_completion_over = 1;
  if (completion.candidates.empty()) return nullptr;
  g_candidates = std::move(completion.candidates);
  return rl_completion_matches(text, next_candidate);
}

void write_err(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// The progress line of a running command: a transfer's bytes, or how long
// it has been running.
std::string progress_text(const std::string& label, const CommandProgress* progress,
                          std::chrono::duration<double> elapsed) {
  if (progress && progress->total.load() > 0) {
    return ProgressBar::line(label, progress->done.load(), progress->total.load(), elapsed) + "  (Ctrl-C cancels)";
  }
  char text[64];
  std::snprintf(text, sizeof text, ": running %.0f s (Ctrl-C cancels)", elapsed.count());
  return label + text;
}
}  // namespace

Terminal::Terminal(Options options) : options_(std::move(options)) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("terminal: cannot create a pipe");
  wake_read_ = fds[0];
  wake_write_ = fds[1];
}

Terminal::~Terminal() {
  stop();
  ::close(wake_read_);
  ::close(wake_write_);
}

void Terminal::start() {
  running_ = true;
  core::set_console_writer([this](std::string_view line) { show_log_line(line); });
  thread_ = std::thread([this] { loop(); });
}

void Terminal::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    // Log lines go to stderr again; none is in flight once this returns.
    core::set_console_writer({});
  }
}

void Terminal::interrupt() {
  interrupts_.fetch_add(1);
  wake();
}

void Terminal::show_log_line(std::string_view line) {
  {
    std::lock_guard lock(log_mutex_);
    if (log_lines_.size() >= kMaxQueuedLogLines) {
      ++dropped_log_lines_;
      return;
    }
    log_lines_.emplace_back(line);
  }
  wake();
}

void Terminal::wake() {
  const char byte = 1;
  // A full pipe already holds a wake-up.
  [[maybe_unused]] const auto written = ::write(wake_write_, &byte, 1);
}

bool Terminal::wait(std::chrono::milliseconds timeout, bool watch_stdin) {
  pollfd fds[2] = {{wake_read_, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  const int ready = ::poll(fds, watch_stdin ? 2 : 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;  // a timeout, or a signal (EINTR)
  if (fds[0].revents & POLLIN) {
    char drain[64];
    while (::read(wake_read_, drain, sizeof drain) > 0) {
    }
  }
  return watch_stdin && (fds[1].revents & (POLLIN | POLLHUP | POLLERR));
}

bool Terminal::print_log_lines(bool at_prompt) {
  std::deque<std::string> lines;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(log_mutex_);
    lines.swap(log_lines_);
    std::swap(dropped, dropped_log_lines_);
  }
  if (lines.empty() && dropped == 0) return false;
  // Over the prompt (or a progress line): clear it, print, redraw.
  std::string text = "\r\033[K";
  for (const auto& line : lines) text += line + "\r\n";
  if (dropped > 0) text += "(" + std::to_string(dropped) + " more log lines; see node.log)\r\n";
  write_err(text);
  if (at_prompt) rl_forced_update_display();
  return true;
}

void Terminal::clear_line() {
  // As a shell does: the line is dropped and a fresh prompt shown.
  rl_callback_handler_remove();
  write_err("^C\n");
  rl_callback_handler_install(options_.prompt.c_str(), on_line);
}

void Terminal::loop() {
  std::string pending;
  g_pending_line = &pending;
  g_sdfs_names = &options_.sdfs_names;
  // SIGINT stays the Node's (it turns Ctrl-C into interrupt()); libedit must
  // not install handlers of its own.
  rl_catch_signals = 0;
  using_history();
  read_history(options_.history_file.c_str());
  // SDFS names hold slashes, dots and colons (sdfs:NAME): only blanks split.
  // (libedit's completion reads the basic set.)
  static char word_breaks[] = " \t\n";
  rl_basic_word_break_characters = word_breaks;
  rl_completer_word_break_characters = word_breaks;
  rl_attempted_completion_function = complete;
  if (!options_.banner.empty()) write_err(options_.banner + (options_.banner.back() == '\n' ? "" : "\n"));
  print_log_lines(false);
  rl_callback_handler_install(options_.prompt.c_str(), on_line);
  bool ended_by_user = false;
  while (!stopping_) {
    const bool readable = wait(100ms, true);
    if (interrupts_.exchange(0) > 0) clear_line();
    print_log_lines(true);
    if (!readable) continue;
    rl_callback_read_char();
    if (g_eof) {
      ended_by_user = true;
      break;
    }
    if (!g_line_ready) continue;
    g_line_ready = false;
    const std::string line = std::exchange(pending, {});
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(line.c_str());
    if (line == "quit" || line == "exit") {
      ended_by_user = true;
      break;
    }
    // libedit has drawn the next prompt already; the command's output goes
    // in its place, and the prompt comes back after it.
    rl_callback_handler_remove();
    write_err("\r\033[K");
    if (!run_command(line)) break;
    rl_callback_handler_install(options_.prompt.c_str(), on_line);
  }
  rl_callback_handler_remove();
  write_history(options_.history_file.c_str());
  g_pending_line = nullptr;
  g_sdfs_names = nullptr;
  running_ = false;
  if (ended_by_user && options_.on_end) options_.on_end();
}

bool Terminal::run_command(const std::string& line) {
  interrupts_ = 0;
  Running command = options_.run_line(line);
  const std::string label = line.substr(0, line.find_first_of(" \t"));
  const auto started = std::chrono::steady_clock::now();
  auto last_draw = started;
  bool progress_shown = false;
  std::optional<std::chrono::steady_clock::time_point> cancelled_at;
  auto clear_progress = [&] {
    if (progress_shown) write_err("\r\033[K");
    progress_shown = false;
  };
  while (command.text.wait_for(0s) != std::future_status::ready) {
    if (stopping_) {
      clear_progress();
      return false;
    }
    wait(100ms, false);
    const auto now = std::chrono::steady_clock::now();
    if (interrupts_.exchange(0) > 0) {
      clear_progress();
      if (cancelled_at || !command.cancel) {
        // A second Ctrl-C: give the prompt back now.
        write_err("^C\n");
        break;
      }
      write_err("^C cancelling " + label + "\n");
      command.cancel();
      cancelled_at = now;
    }
    if (cancelled_at && now - *cancelled_at > options_.cancel_grace) {
      write_err(label + ": did not stop within " + std::to_string(options_.cancel_grace.count() / 1000) +
                " s of Ctrl-C; it goes on in the background\n");
      break;
    }
    if (print_log_lines(false)) progress_shown = false;  // it cleared the progress line
    if (now - started >= kProgressAfter && now - last_draw >= kProgressEvery && !cancelled_at) {
      last_draw = now;
      progress_shown = true;
      write_err("\r" + progress_text(label, command.progress.get(), now - started) + "\033[K");
    }
  }
  clear_progress();
  if (command.text.wait_for(0s) != std::future_status::ready) return true;
  const std::string text = command.text.get();
  if (!text.empty()) {
    std::fputs(text.c_str(), stdout);
    if (text.back() != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  return true;
}

}  // namespace idunno::cli
