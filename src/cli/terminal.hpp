#pragma once
// The interactive terminal command mode: a prompt with line editing and
// history (libedit, BSD-licensed) on the node's own terminal.
//
// Why: an operator at a node types the same commands as the client. The
// prompt runs on its own thread because line editing blocks on the
// keyboard; each line is handed to `run_line`, which the Node implements by
// posting the command to the event loop and waiting for its text. stop()
// (from any thread) ends the prompt within one poll interval. History is
// kept in DATA_DIR/history.

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace idunno::cli {

class Terminal {
 public:
  // Returns the text to print for one line ("" prints nothing).
  using LineRunner = std::function<std::string(const std::string& line)>;
  // Called once when the user ends the session (Ctrl-D or `quit`).
  using EndCallback = std::function<void()>;

  Terminal(std::string prompt, std::filesystem::path history_file, LineRunner run_line, EndCallback on_end);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void start();
  void stop();

 private:
  void loop();

  std::string prompt_;
  std::filesystem::path history_file_;
  LineRunner run_line_;
  EndCallback on_end_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace idunno::cli
