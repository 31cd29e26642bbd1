#include "core/failpoint.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

namespace idunno::core {

namespace {

constexpr int kCrashStatus = 70;

std::set<std::string, std::less<>> parse(std::string_view spec) {
  std::set<std::string, std::less<>> out;
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    std::string_view name = spec.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) out.emplace(name);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return out;
}

const std::set<std::string, std::less<>>& armed() {
  static const auto names = [] {
    const char* spec = std::getenv("IDUNNO_FAILPOINTS");
    return parse(spec == nullptr ? std::string_view() : std::string_view(spec));
  }();
  return names;
}

}  // namespace

bool failpoint_armed_in(std::string_view spec, std::string_view name) { return parse(spec).contains(name); }

void failpoint(std::string_view name) {
  if (!armed().contains(name)) return;
  spdlog::warn("event=failpoint_crash name={}", name);
  spdlog::default_logger()->flush();
  ::_exit(kCrashStatus);
}

}  // namespace idunno::core
