#include "core/metrics.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace idunno::core {

namespace {
std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double ("0.1", "1e+21").
  std::array<char, 32> buffer{};
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
  return {buffer.data(), end};
}
}  // namespace

void MetricsWriter::counter(const std::string& name, const std::string& help, double value,
                            const std::map<std::string, std::string>& labels) {
  sample("counter", name, help, value, labels);
}

void MetricsWriter::gauge(const std::string& name, const std::string& help, double value,
                          const std::map<std::string, std::string>& labels) {
  sample("gauge", name, help, value, labels);
}

void MetricsWriter::sample(const std::string& type, const std::string& name, const std::string& help,
                           double value, const std::map<std::string, std::string>& labels) {
  const std::string full = "idunno_" + name;
  headers_.try_emplace(full, "# HELP " + full + " " + help + "\n# TYPE " + full + " " + type + "\n");
  line(full, full, labels, value);
}

void MetricsWriter::histogram(const std::string& name, const std::string& help, const HistogramValue& value,
                              const std::map<std::string, std::string>& labels) {
  const std::string full = "idunno_" + name;
  headers_.try_emplace(full, "# HELP " + full + " " + help + "\n# TYPE " + full + " histogram\n");
  for (const auto& [le, count] : value.buckets) {
    auto with_le = labels;
    with_le["le"] = format_value(le);
    line(full, full + "_bucket", with_le, static_cast<double>(count));
  }
  auto with_inf = labels;
  with_inf["le"] = "+Inf";
  line(full, full + "_bucket", with_inf, static_cast<double>(value.count));
  line(full, full + "_sum", labels, value.sum);
  line(full, full + "_count", labels, static_cast<double>(value.count));
}

void MetricsWriter::line(const std::string& family, const std::string& name,
                         const std::map<std::string, std::string>& labels, double value) {
  std::string text = name;
  if (!labels.empty()) {
    text += "{";
    bool first = true;
    for (const auto& [key, label] : labels) {
      if (!first) text += ",";
      first = false;
      text += key + "=\"" + escape_label(label) + "\"";
    }
    text += "}";
  }
  samples_[family].push_back(text + " " + format_value(value) + "\n");
}

std::string MetricsWriter::str() const {
  std::string out;
  for (const auto& [name, header] : headers_) {
    out += header;
    for (const auto& line : samples_.at(name)) out += line;
  }
  return out;
}

std::string MetricsRegistry::render() const {
  MetricsWriter writer;
  for (const auto& provider : providers_) provider(writer);
  return writer.str();
}

}  // namespace idunno::core
