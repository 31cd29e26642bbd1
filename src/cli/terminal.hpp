#pragma once
// The interactive terminal command mode: a prompt with line editing,
// history and tab completion (libedit, BSD-licensed) on the node's own
// terminal.
//
// Why: an operator at a node types the same commands as the client. The
// prompt runs on its own thread because line editing blocks on the
// keyboard; the event loop never waits for it. Each line is handed to
// `run_line`, which the Node implements by posting the command to the loop;
// the terminal waits for its text while showing progress (a transfer's bar,
// or the time a command has been running) and passing on Ctrl-C as a
// cancellation. Log lines reach the terminal through show_log_line() and are
// printed by the terminal's thread above the prompt, which is then redrawn,
// so they never garble what is being typed. stop() (from any thread) ends
// the prompt within one poll interval. History is kept in DATA_DIR/history.
//
// Thread safety: start() and stop() from the owner's thread; interrupt()
// and show_log_line() from any thread; the callbacks are called on the
// terminal's thread. Only one Terminal may run per process (libedit's
// callback interface is global).

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/command_dispatcher.hpp"

namespace idunno::cli {

class Terminal {
 public:
  // A command the terminal started.
  struct Running {
    std::future<std::string> text;  // what to print when it ends ("" prints nothing)
    std::function<void()> cancel;   // any thread; may be empty
    std::shared_ptr<const CommandProgress> progress;  // may be null
  };
  using LineRunner = std::function<Running(const std::string& line)>;
  // The SDFS names to complete; must answer within a fraction of a second.
  using NameSource = std::function<std::vector<std::string>()>;
  // Called once when the user ends the session (Ctrl-D, `exit` or `quit`).
  using EndCallback = std::function<void()>;

  struct Options {
    std::string prompt;
    std::filesystem::path history_file;
    std::string banner;  // printed once above the first prompt
    LineRunner run_line;
    NameSource sdfs_names;
    EndCallback on_end;
    // After Ctrl-C, how long to wait for the command to end before giving
    // the prompt back anyway.
    std::chrono::milliseconds cancel_grace{3000};
  };

  explicit Terminal(Options options);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void start();
  void stop();
  // True from start() until the session ends.
  bool running() const { return running_; }

  // Ctrl-C: cancels the running command, or clears the line being typed.
  void interrupt();
  // One log line (without its newline) to show above the prompt.
  void show_log_line(std::string_view line);

 private:
  void loop();
  // Runs one line to its end (or its cancellation); false when the
  // terminal is stopping.
  bool run_command(const std::string& line);
  // Prints queued log lines (true when there were some); `at_prompt`:
  // redraw the prompt after them.
  bool print_log_lines(bool at_prompt);
  void clear_line();
  // Waits up to `timeout` for input on stdin or a wake-up; true when stdin
  // is readable.
  bool wait(std::chrono::milliseconds timeout, bool watch_stdin);
  void wake();

  Options options_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<int> interrupts_{0};
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::mutex log_mutex_;
  std::deque<std::string> log_lines_;
  std::size_t dropped_log_lines_ = 0;
  std::thread thread_;
};

}  // namespace idunno::cli
