#include "cli/client/progress_bar.hpp"

#include <algorithm>

namespace idunno::cli {

using namespace std::chrono_literals;

ProgressBar::ProgressBar(std::FILE* out, bool enabled, std::string label)
    : out_(out), enabled_(enabled), label_(std::move(label)) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::human_bytes(double bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000.0 && unit < 4) {
    bytes /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string ProgressBar::line(const std::string& label, std::uint64_t done, std::optional<std::uint64_t> total,
                              std::chrono::duration<double> elapsed) {
  const double seconds = std::max(elapsed.count(), 1e-3);
  const double rate = static_cast<double>(done) / seconds;
  std::string text = label + " ";
  if (total && *total > 0) {
    constexpr int kWidth = 30;
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(*total));
    const int filled = static_cast<int>(fraction * kWidth);
    text += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(kWidth - filled), ' ') + "] ";
    text += human_bytes(static_cast<double>(done)) + " / " + human_bytes(static_cast<double>(*total));
  } else {
    text += human_bytes(static_cast<double>(done));
  }
  text += "  " + human_bytes(rate) + "/s";
  if (total && rate > 0 && *total > done) {
    const auto eta = static_cast<long long>(static_cast<double>(*total - done) / rate + 0.5);
    text += "  ETA " + std::to_string(eta / 60) + ":" + (eta % 60 < 10 ? "0" : "") + std::to_string(eta % 60);
  }
  return text;
}

void ProgressBar::update(std::uint64_t done, std::optional<std::uint64_t> total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // Only transfers longer than a second show a bar.
  if (now - start_ < 1s || now - last_draw_ < 100ms) return;
  last_draw_ = now;
  shown_ = true;
  std::fprintf(out_, "\r%s\033[K", line(label_, done, total, now - start_).c_str());
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (!shown_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  shown_ = false;
}

}  // namespace idunno::cli
