#pragma once
// One idunno-node process: the event loop, the signals, the terminal mode,
// and the node's services (NodeComposition, which builds and stops them).
//
// Why: the process owns what is not a service: the one io_context thread
// that owns all protocol state, SIGINT/SIGTERM and the hard bound on the
// stop that CONTRACT.md promises (exit within 5 s). Construct and run() on
// the main thread; everything else happens on the loop.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/terminal.hpp"
#include "core/config.hpp"

namespace idunno::cli {

class NodeComposition;

class Node {
 public:
  Node(core::Config config, bool repl);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Starts the services and runs the event loop until a stop is requested
  // (SIGINT, SIGTERM, end of the terminal session). Returns the exit code:
  // 0 after a graceful stop, 1 when a service could not start.
  int run();

 private:
  // Starts one line typed at the terminal on the loop. Called from the
  // terminal's thread; never waits for the loop.
  Terminal::Running start_terminal_line(const std::string& line);
  // The SDFS names for the terminal's completion: this node's namespace,
  // read on the loop; the last answer when the loop is slower than a
  // moment. Terminal thread only.
  std::vector<std::string> terminal_sdfs_names();

  core::Config config_;
  bool repl_;
  boost::asio::io_context io_;
  std::unique_ptr<NodeComposition> services_;
  // Terminal thread only (terminal_sdfs_names).
  std::vector<std::string> sdfs_names_cache_;
  std::chrono::steady_clock::time_point sdfs_names_at_{};
};

}  // namespace idunno::cli
