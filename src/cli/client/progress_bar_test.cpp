// The transfer progress bar: what it shows, and that a disabled bar (not a
// terminal, or --json) writes nothing.

#include "cli/client/progress_bar.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace idunno::cli {
namespace {

TEST(ProgressBar, ShowsBytesRateAndEta) {
  const std::string line = ProgressBar::line("sending", 50'000'000, 200'000'000, std::chrono::seconds(2));
  EXPECT_NE(line.find("50.0 MB / 200.0 MB"), std::string::npos) << line;
  EXPECT_NE(line.find("25.0 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:06"), std::string::npos) << line;
  const std::string unknown = ProgressBar::line("receiving", 1500, std::nullopt, std::chrono::seconds(1));
  EXPECT_NE(unknown.find("1.5 kB"), std::string::npos) << unknown;
  EXPECT_EQ(unknown.find("ETA"), std::string::npos) << unknown;
  EXPECT_EQ(ProgressBar::human_bytes(999), "999 B");
}

TEST(ProgressBar, DisabledWritesNothing) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar(out, false, "sending");
    for (int i = 0; i < 1000; ++i) bar.update(static_cast<std::uint64_t>(i), 1000);
    EXPECT_FALSE(bar.shown());
  }
  EXPECT_EQ(std::ftell(out), 0L);
  std::fclose(out);
}

}  // namespace
}  // namespace idunno::cli
