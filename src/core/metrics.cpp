#include "core/metrics.hpp"

#include <cmath>
#include <sstream>

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
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
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
  std::string line = full;
  if (!labels.empty()) {
    line += "{";
    bool first = true;
    for (const auto& [key, label] : labels) {
      if (!first) line += ",";
      first = false;
      line += key + "=\"" + escape_label(label) + "\"";
    }
    line += "}";
  }
  samples_[full].push_back(line + " " + format_value(value) + "\n");
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
