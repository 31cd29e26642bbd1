#pragma once
// The Open Inference Protocol (KServe v2) REST messages of the console, free
// of sockets and of the engine: the /v2 paths, the JSON of an inference
// request and of every answer, and how a request's tensor becomes a batch
// for a model (CONTRACT.md "The console").
//
// Why: what a client may send and what it gets back is decided here, in
// pure functions that tests call directly; the HTTP handler
// (online_http.cpp) only moves bytes and the worker (online_service.cpp)
// only runs batches. Preprocessing is the one inference jobs use
// (ml::preprocess): a UINT8 tensor holds pixels 0..255 and becomes
// (pixel / 255 - mean) / std with the model's normalisation, an FP32 tensor
// holds pixel / 255 (0..1, torchvision's ToTensor) and gets the same mean
// and std, so an image gets the class an inference job gives it.
//
// Pure functions; callable from any thread.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ml/base/batch.hpp"
#include "ml/base/model_info.hpp"

namespace idunno::cli::oip {

// The names of the one input and the one output every model has.
inline constexpr std::string_view kInputName = "input";
inline constexpr std::string_view kOutputName = "scores";

// A request that cannot be served: the HTTP status (4xx, or 503 when no
// worker can take it) and the message of its {"error": ...} body.
class OipError : public std::runtime_error {
 public:
  OipError(unsigned status, const std::string& message) : std::runtime_error(message), status_(status) {}
  unsigned status() const { return status_; }

 private:
  unsigned status_;
};

enum class DataType { fp32, uint8 };

std::string_view to_string(DataType type);

// The input tensor of an inference request, as it arrived: values in
// row-major order of `shape` (UINT8 values are whole numbers 0..255).
struct InputTensor {
  DataType datatype = DataType::fp32;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

struct InferRequest {
  std::optional<std::string> id;
  InputTensor input;
};

// Parses the body of POST /v2/models/M/infer: one input named "input" with
// an FP32 or UINT8 datatype, a shape and as many values as the shape holds
// (flat, or nested arrays flattened in row-major order); `outputs`, when
// given, may ask only for "scores". At most `max_values` values. Throws
// OipError(400) saying what is wrong.
InferRequest parse_infer_request(std::string_view body, std::size_t max_values);

// Checks the tensor against the model: shape [B, C, H, W] with C, H, W the
// model's input and 1 <= B. Throws OipError(400) naming the shape expected.
void check_input(const InputTensor& input, const ml::ModelInfo& model);

// The sample shape a tensor of [B, C, H, W] holds, when it has four
// dimensions (a hint for TorchScript files without IDunno's metadata).
std::optional<ml::ImageShape> sample_shape(const InputTensor& input);

// The model-ready batch of a checked tensor (NCHW floats, normalised as
// inference jobs normalise pixels).
ml::Batch to_batch(const InputTensor& input, const ml::ModelInfo& model);

// {"model_name":M,"model_version":V,"id":...,"outputs":[{"name":"scores",
// "shape":[B,C],"datatype":"FP32","data":[...]}]}; `probabilities` is B x
// `classes`, row-major.
std::string infer_response(std::string_view model_name, std::string_view model_version,
                           const std::optional<std::string>& id, std::size_t classes,
                           const std::vector<float>& probabilities);

// The model metadata object: name, versions, platform, the input (FP32,
// [-1, C, H, W]) and the output (FP32, [-1, classes]).
std::string model_metadata(const ml::ModelInfo& model, std::string_view name, std::string_view version);

// {"name":"idunno","version":...,"extensions":[]}.
std::string server_metadata();

// {"error": message}.
std::string error_body(std::string_view message);

// What a /v2 path asks for. `model` is decoded (a percent-encoded SDFS
// name such as models%2Fa is "models/a"); `version` is empty when the path
// names none.
struct Target {
  enum class Kind { server, live, ready, model, model_ready, infer, unknown };
  Kind kind = Kind::unknown;
  std::string model;
  std::string version;
};

// "/v2", "/v2/health/live", "/v2/models/M[/versions/V][/ready|/infer]", ...
// Throws OipError(400) when the model name is not valid percent-encoding.
Target parse_target_path(std::string_view path);

}  // namespace idunno::cli::oip
