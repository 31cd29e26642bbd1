#include "cli/oip_codec.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <limits>

#include "net/console/http_access.hpp"

namespace idunno::cli::oip {

namespace json = boost::json;

namespace {

constexpr const char* kServerVersion = "1.0";

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

[[noreturn]] void bad(const std::string& message) { throw OipError(400, message); }

// Appends the numbers of `data` (nested arrays in row-major order) to `out`.
void flatten(const json::array& data, DataType type, std::size_t max_values, std::vector<float>& out) {
  for (const json::value& v : data) {
    if (v.is_array()) {
      flatten(v.get_array(), type, max_values, out);
      continue;
    }
    if (out.size() >= max_values) bad("the input holds more than " + std::to_string(max_values) + " values");
    if (type == DataType::uint8) {
      std::int64_t pixel = -1;
      if (v.is_int64()) pixel = v.get_int64();
      if (v.is_uint64() && v.get_uint64() <= 255) pixel = static_cast<std::int64_t>(v.get_uint64());
      if (v.is_double() && std::floor(v.get_double()) == v.get_double() && v.get_double() >= 0 &&
          v.get_double() <= 255) {
        pixel = static_cast<std::int64_t>(v.get_double());
      }
      if (pixel < 0 || pixel > 255) bad("UINT8 data must be whole numbers from 0 to 255; found " + json::serialize(v));
      out.push_back(static_cast<float>(pixel));
      continue;
    }
    double number = 0;
    if (v.is_double()) {
      number = v.get_double();
    } else if (v.is_int64()) {
      number = static_cast<double>(v.get_int64());
    } else if (v.is_uint64()) {
      number = static_cast<double>(v.get_uint64());
    } else {
      bad("FP32 data must be numbers; found " + json::serialize(v));
    }
    if (!std::isfinite(number) || std::fabs(number) > std::numeric_limits<float>::max()) {
      bad("FP32 data must be finite 32-bit floats; found " + json::serialize(v));
    }
    out.push_back(static_cast<float>(number));
  }
}

InputTensor parse_input(const json::object& input, std::size_t max_values) {
  const json::value* name = input.if_contains("name");
  if (name == nullptr || !name->is_string()) bad("each input needs a \"name\" string");
  if (name->get_string() != kInputName) {
    bad("unknown input '" + std::string(name->get_string()) + "': the models take one input named \"input\"");
  }
  const json::value* datatype = input.if_contains("datatype");
  if (datatype == nullptr || !datatype->is_string()) bad("the input needs a \"datatype\" string (FP32 or UINT8)");
  InputTensor tensor;
  if (datatype->get_string() == "FP32") {
    tensor.datatype = DataType::fp32;
  } else if (datatype->get_string() == "UINT8") {
    tensor.datatype = DataType::uint8;
  } else {
    bad("unsupported datatype '" + std::string(datatype->get_string()) +
        "': send FP32 (pixel / 255, from 0 to 1) or UINT8 (pixels from 0 to 255)");
  }
  const json::value* shape = input.if_contains("shape");
  if (shape == nullptr || !shape->is_array() || shape->get_array().empty()) {
    bad("the input needs a \"shape\": an array of dimensions such as [B, 1, 28, 28]");
  }
  std::uint64_t elements = 1;
  for (const json::value& d : shape->get_array()) {
    const bool whole = d.is_int64() || d.is_uint64();
    if (!whole || (d.is_int64() && d.get_int64() < 0)) bad("the shape must hold whole numbers of at least 0");
    const std::uint64_t dim = d.is_int64() ? static_cast<std::uint64_t>(d.get_int64()) : d.get_uint64();
    if (dim > max_values || (dim != 0 && elements > max_values / dim)) {
      bad("the shape " + json::serialize(*shape) + " holds more than " + std::to_string(max_values) + " values");
    }
    elements *= dim;
    tensor.shape.push_back(static_cast<std::int64_t>(dim));
  }
  const json::value* data = input.if_contains("data");
  if (data == nullptr || !data->is_array()) bad("the input needs \"data\": an array of numbers");
  tensor.values.reserve(static_cast<std::size_t>(elements));
  flatten(data->get_array(), tensor.datatype, max_values, tensor.values);
  if (tensor.values.size() != elements) {
    bad("the shape " + shape_text(tensor.shape) + " holds " + std::to_string(elements) + " values, the data has " +
        std::to_string(tensor.values.size()));
  }
  return tensor;
}

void append_float(std::string& out, float value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  if (error != std::errc()) throw OipError(500, "a score could not be written");
  out.append(text, end);
}

}  // namespace

std::string_view to_string(DataType type) { return type == DataType::uint8 ? "UINT8" : "FP32"; }

InferRequest parse_infer_request(std::string_view body, std::size_t max_values) {
  boost::system::error_code error;
  json::value parsed = json::parse(body, error);
  if (error) bad("the body is not valid JSON (" + error.message() + ")");
  if (!parsed.is_object()) bad("the body must be a JSON object with \"inputs\"");
  const json::object& request = parsed.get_object();
  InferRequest out;
  if (const json::value* id = request.if_contains("id")) {
    if (!id->is_string()) bad("\"id\" must be a string");
    out.id = std::string(id->get_string());
  }
  const json::value* inputs = request.if_contains("inputs");
  if (inputs == nullptr || !inputs->is_array() || inputs->get_array().size() != 1 ||
      !inputs->get_array()[0].is_object()) {
    bad("\"inputs\" must be an array of one input object {\"name\":\"input\",\"shape\":[...],\"datatype\":...,"
        "\"data\":[...]}");
  }
  if (const json::value* outputs = request.if_contains("outputs")) {
    if (!outputs->is_array()) bad("\"outputs\" must be an array of {\"name\":\"scores\"}");
    for (const json::value& o : outputs->get_array()) {
      const json::value* name = o.is_object() ? o.get_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string() || name->get_string() != kOutputName) {
        bad("unknown output " + json::serialize(o) + ": the models have one output named \"scores\"");
      }
    }
  }
  out.input = parse_input(inputs->get_array()[0].get_object(), max_values);
  return out;
}

void check_input(const InputTensor& input, const ml::ModelInfo& model) {
  const auto expected = "[B," + std::to_string(model.input.channels) + "," + std::to_string(model.input.height) + "," +
                        std::to_string(model.input.width) + "]";
  const auto& s = input.shape;
  if (s.size() != 4 || s[1] != model.input.channels || s[2] != model.input.height || s[3] != model.input.width) {
    bad("model " + model.name + " takes input of shape " + expected + "; the request has " + shape_text(s));
  }
  if (s[0] < 1) bad("the batch dimension must be at least 1");
}

std::optional<ml::ImageShape> sample_shape(const InputTensor& input) {
  if (input.shape.size() != 4) return std::nullopt;
  return ml::ImageShape{input.shape[1], input.shape[2], input.shape[3]};
}

ml::Batch to_batch(const InputTensor& input, const ml::ModelInfo& model) {
  check_input(input, model);
  ml::Batch batch;
  batch.shape = model.input;
  const auto samples = static_cast<std::size_t>(input.shape[0]);
  const auto channels = static_cast<std::size_t>(model.input.channels);
  const auto plane = static_cast<std::size_t>(model.input.height * model.input.width);
  batch.values.resize(input.values.size());
  const ml::Normalization& n = model.normalization;
  for (std::size_t c = 0; c < channels; ++c) {
    const auto channel = static_cast<std::int64_t>(c);
    // The arithmetic of ml::preprocess, so that UINT8 pixels give the very
    // floats an inference job feeds the model.
    const float pixel_scale = 1.0F / (255.0F * n.std_of(channel));
    const float unit_scale = 1.0F / n.std_of(channel);
    const float shift = n.mean_of(channel) / n.std_of(channel);
    const float scale = input.datatype == DataType::uint8 ? pixel_scale : unit_scale;
    for (std::size_t i = 0; i < samples; ++i) {
      const std::size_t at = (i * channels + c) * plane;
      for (std::size_t p = 0; p < plane; ++p) batch.values[at + p] = input.values[at + p] * scale - shift;
    }
  }
  for (std::size_t i = 0; i < samples; ++i) {
    batch.indices.push_back(static_cast<std::int64_t>(i));
    batch.labels.push_back(-1);
  }
  return batch;
}

std::string infer_response(std::string_view model_name, std::string_view model_version,
                           const std::optional<std::string>& id, std::size_t classes,
                           const std::vector<float>& probabilities) {
  const std::size_t rows = classes == 0 ? 0 : probabilities.size() / classes;
  std::string out = "{\"model_name\":" + json::serialize(json::value(model_name));
  out += ",\"model_version\":" + json::serialize(json::value(model_version));
  if (id) out += ",\"id\":" + json::serialize(json::value(*id));
  out += ",\"outputs\":[{\"name\":\"scores\",\"shape\":[" + std::to_string(rows) + "," + std::to_string(classes) +
         "],\"datatype\":\"FP32\",\"data\":[";
  out.reserve(out.size() + probabilities.size() * 12 + 8);
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    if (i) out += ',';
    const float p = probabilities[i];
    if (!std::isfinite(p)) throw OipError(500, "model " + std::string(model_name) + " gave scores that are not finite");
    append_float(out, p);
  }
  out += "]}]}";
  return out;
}

std::string model_metadata(const ml::ModelInfo& model, std::string_view name, std::string_view version) {
  json::array input_shape{-1, model.input.channels, model.input.height, model.input.width};
  json::array output_shape{-1, model.classes};
  json::object properties{{"source", std::string(ml::to_string(model.source))},
                          {"input_datatypes", "FP32,UINT8"},
                          {"classes", std::to_string(model.classes)}};
  return json::serialize(json::object{
      {"name", name},
      {"versions", json::array{version}},
      {"platform", "pytorch_torchscript"},
      {"inputs", json::array{json::object{
                     {"name", kInputName}, {"datatype", "FP32"}, {"shape", std::move(input_shape)}}}},
      {"outputs", json::array{json::object{
                      {"name", kOutputName}, {"datatype", "FP32"}, {"shape", std::move(output_shape)}}}},
      {"properties", std::move(properties)}});
}

std::string server_metadata() {
  return json::serialize(json::object{{"name", "idunno"}, {"version", kServerVersion}, {"extensions", json::array{}}});
}

std::string error_body(std::string_view message) { return json::serialize(json::object{{"error", message}}); }

Target parse_target_path(std::string_view path) {
  Target t;
  if (path == "/v2" || path == "/v2/") {
    t.kind = Target::Kind::server;
    return t;
  }
  if (path == "/v2/health/live") {
    t.kind = Target::Kind::live;
    return t;
  }
  if (path == "/v2/health/ready") {
    t.kind = Target::Kind::ready;
    return t;
  }
  constexpr std::string_view kModels = "/v2/models/";
  if (!path.starts_with(kModels)) return t;
  std::string_view rest = path.substr(kModels.size());
  // The model name is one segment (an SDFS name's slashes are encoded as
  // %2F); what follows says what is asked of it.
  const auto slash = rest.find('/');
  const std::string_view encoded = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  auto name = net::console::percent_decode(encoded);
  if (!name) throw OipError(400, "the model name in the path is not valid percent-encoding");
  if (name->empty()) return t;
  t.model = std::move(*name);
  constexpr std::string_view kVersions = "/versions/";
  if (tail.starts_with(kVersions)) {
    tail = tail.substr(kVersions.size());
    const auto end = tail.find('/');
    t.version = std::string(tail.substr(0, end));
    tail = end == std::string_view::npos ? std::string_view{} : tail.substr(end);
    if (t.version.empty()) return Target{};
  }
  if (tail.empty()) {
    t.kind = Target::Kind::model;
  } else if (tail == "/ready") {
    t.kind = Target::Kind::model_ready;
  } else if (tail == "/infer") {
    t.kind = Target::Kind::infer;
  } else {
    return Target{};
  }
  return t;
}

}  // namespace idunno::cli::oip
