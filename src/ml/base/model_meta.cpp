#include "ml/base/model_meta.hpp"

#include <charconv>
#include <sstream>
#include <string_view>
#include <vector>

#include "ml/base/errors.hpp"

namespace idunno::ml {

namespace {
std::string join(const std::vector<float>& values) {
  std::ostringstream out;
  out.precision(9);
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

std::vector<double> numbers(const std::string& value, const std::string& what, const std::string& key) {
  std::vector<double> out;
  for (const auto& part : split(value, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw ModelError(what + ": metadata key " + key + " has a bad number '" + part + "'");
    }
  }
  if (out.empty()) throw ModelError(what + ": metadata key " + key + " is empty");
  return out;
}

std::vector<float> floats(const std::vector<double>& values) {
  return {values.begin(), values.end()};
}
}  // namespace

std::string encode_model_meta(const ModelInfo& info) {
  std::ostringstream out;
  out << "format=1\n";
  out << "input=" << info.input.channels << "," << info.input.height << "," << info.input.width << "\n";
  out << "classes=" << info.classes << "\n";
  out << "mean=" << join(info.normalization.mean) << "\n";
  out << "std=" << join(info.normalization.std) << "\n";
  return out.str();
}

ModelMeta decode_model_meta(const std::string& text, const std::string& what) {
  ModelMeta meta;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw ModelError(what + ": metadata line '" + line + "' is not key=value");
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "format") {
      if (value != "1") throw ModelError(what + ": metadata format " + value + " is newer than this node knows");
    } else if (key == "input") {
      const auto dims = numbers(value, what, key);
      if (dims.size() != 3 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1) {
        throw ModelError(what + ": metadata input must be C,H,W with positive sizes, got '" + value + "'");
      }
      meta.input = {static_cast<std::int64_t>(dims[0]), static_cast<std::int64_t>(dims[1]),
                    static_cast<std::int64_t>(dims[2])};
    } else if (key == "classes") {
      const auto n = numbers(value, what, key);
      if (n.size() != 1 || n[0] < 1) throw ModelError(what + ": metadata classes must be a positive number");
      meta.classes = static_cast<std::int64_t>(n[0]);
    } else if (key == "mean") {
      meta.normalization.mean = floats(numbers(value, what, key));
      meta.has_normalization = true;
    } else if (key == "std") {
      meta.normalization.std = floats(numbers(value, what, key));
      for (const float s : meta.normalization.std) {
        if (!(s > 0.0F)) throw ModelError(what + ": metadata std values must be positive");
      }
      meta.has_normalization = true;
    } else {
      throw ModelError(what + ": unknown metadata key '" + key + "'");
    }
  }
  return meta;
}

}  // namespace idunno::ml
