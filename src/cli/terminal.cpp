#include "cli/terminal.hpp"

#include <editline/readline.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace idunno::cli {

namespace {
// libedit's callback interface hands complete lines to a plain function;
// only one Terminal runs per process, so the pending line lives here.
std::string* g_pending_line = nullptr;
bool g_line_ready = false;
bool g_eof = false;

void on_line(char* line) {
  if (!line) {
    g_eof = true;
    return;
  }
  *g_pending_line = line;
  std::free(line);
  g_line_ready = true;
}
}  // namespace

Terminal::Terminal(std::string prompt, std::filesystem::path history_file, LineRunner run_line, EndCallback on_end)
    : prompt_(std::move(prompt)),
      history_file_(std::move(history_file)),
      run_line_(std::move(run_line)),
      on_end_(std::move(on_end)) {}

Terminal::~Terminal() { stop(); }

void Terminal::start() { thread_ = std::thread([this] { loop(); }); }

void Terminal::stop() {
  stopping_ = true;
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Terminal::loop() {
  std::string pending;
  g_pending_line = &pending;
  using_history();
  read_history(history_file_.c_str());
  rl_callback_handler_install(prompt_.c_str(), on_line);
  bool ended_by_user = false;
  while (!stopping_) {
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    // Wake up regularly to notice stop().
    const int ready = ::poll(&fd, 1, 100);
    if (ready <= 0) continue;
    rl_callback_read_char();
    if (g_eof) {
      ended_by_user = true;
      break;
    }
    if (!g_line_ready) continue;
    g_line_ready = false;
    const std::string line = pending;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(line.c_str());
    if (line == "quit" || line == "exit") {
      ended_by_user = true;
      break;
    }
    // The prompt is reinstalled after the output so it does not interleave.
    rl_callback_handler_remove();
    const std::string text = run_line_(line);
    if (!text.empty()) {
      std::fputs(text.c_str(), stdout);
      if (text.back() != '\n') std::fputc('\n', stdout);
      std::fflush(stdout);
    }
    if (!stopping_) rl_callback_handler_install(prompt_.c_str(), on_line);
  }
  rl_callback_handler_remove();
  write_history(history_file_.c_str());
  g_pending_line = nullptr;
  if (ended_by_user && on_end_) on_end_();
}

}  // namespace idunno::cli
