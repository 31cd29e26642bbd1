#pragma once
// The Open Inference Protocol (KServe v2) REST routes of the console
// (CONTRACT.md "The console"): /v2, /v2/health/{live,ready},
// /v2/models/M[/versions/V], .../ready and POST .../infer.
//
// Why: the routes only read the request, ask an OnlineBackend and write
// the JSON answer (oip_codec.hpp); where models run (routing to workers,
// dynamic batching) is the backend's business, so that the routes are
// tested over a fake backend on a real console socket. A request body past
// the backend's limit is refused with 413 before it is read (Content-Length)
// or as soon as it passes the limit (chunked), and the connection is
// closed; every refusal is {"error": ...} with a 4xx status.
//
// Event loop only. The backend outlives the routes.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "cli/oip_codec.hpp"
#include "ml/base/model_info.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::cli {

// A model as online inference serves it.
struct OnlineModel {
  ml::ModelInfo info;
  std::string version;  // "1" for a zoo model, the SDFS version otherwise
};

// The scores of one request.
struct OnlineScores {
  std::string version;
  std::size_t classes = 0;
  std::vector<float> probabilities;  // B x classes, row-major
};

// What the /v2 routes need: the node's OnlineService, or a fake. Every
// method throws oip::OipError for what the client did wrong (unknown model
// 404, a tensor that does not fit 400) or what cannot be done now (503).
class OnlineBackend {
 public:
  virtual ~OnlineBackend() = default;
  // Whether this node can serve models now (an engine, here or on a live
  // worker); false gives 503 on /v2/health/ready.
  virtual bool ready() const = 0;
  // Bytes an inference request body may have.
  virtual std::size_t max_body_bytes() const = 0;
  // The model `name` at `version` ("" for the newest).
  virtual boost::asio::awaitable<OnlineModel> model(std::string name, std::string version) = 0;
  virtual boost::asio::awaitable<OnlineScores> infer(std::string name, std::string version,
                                                     oip::InputTensor input) = 0;
};

// Registers "/v2" and "/v2/" on `routes`.
void add_online_routes(net::console::StreamRoutes& routes, OnlineBackend& backend);

}  // namespace idunno::cli
