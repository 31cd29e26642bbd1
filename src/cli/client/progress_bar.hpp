#pragma once
// The transfer progress bar of the idunno client (CONTRACT.md: bytes, rate,
// ETA on stderr when stderr is a terminal, for transfers longer than a
// second; never with --json).
//
// Why: a 500 MB put should show that it is moving; a quick one, a script or
// a JSON consumer must see nothing. The bar redraws at most ten times a
// second on one line and is cleared when the transfer ends. Not
// thread-safe; the client's one thread.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace idunno::cli {

class ProgressBar {
 public:
  // `enabled` false: update() and finish() do nothing.
  ProgressBar(std::FILE* out, bool enabled, std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::uint64_t done, std::optional<std::uint64_t> total);
  void finish();
  bool shown() const { return shown_; }

  // "12.3 MB", "1.0 GB" (tests).
  static std::string human_bytes(double bytes);
  // The bar's text for a transfer `elapsed` in (tests).
  static std::string line(const std::string& label, std::uint64_t done, std::optional<std::uint64_t> total,
                          std::chrono::duration<double> elapsed);

 private:
  std::FILE* out_;
  bool enabled_;
  std::string label_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  bool shown_ = false;
};

}  // namespace idunno::cli
