#include "ml/base/results.hpp"

#include <cinttypes>
#include <cstdio>

namespace idunno::ml {

void append_results(std::string& out, const std::vector<Prediction>& predictions) {
  char line[96];
  for (const auto& p : predictions) {
    const int n = std::snprintf(line, sizeof line, "%" PRId64 " %" PRId64 " %.6f\n", p.index, p.label,
                                static_cast<double>(p.score));
    out.append(line, static_cast<std::size_t>(n));
  }
}

std::string format_results(const std::vector<Prediction>& predictions) {
  std::string out;
  out.reserve(predictions.size() * 20);
  append_results(out, predictions);
  return out;
}

}  // namespace idunno::ml
