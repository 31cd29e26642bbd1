// The node side of online inference: routing to workers, the worker's
// "online.infer" and "online.model" RPCs, and model resolution.
//
// Wire format of both RPCs: a JSON header line, then raw bytes.
//   online.infer  {"model","version","datatype","shape"}\n values (UINT8:
//                 one byte each; FP32: 4-byte floats)
//              -> {"version","classes"}\n probabilities (4-byte floats)
//   online.model  {"model","version"}\n
//              -> {"version","info":{...}}\n
// or, for a refusal, {"error":MESSAGE,"status":HTTP_STATUS}\n. Floats are
// in the byte order of the node; a cluster runs one build on one kind of
// machine.

#include "cli/online_service.hpp"

#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <cstring>
#include <spdlog/spdlog.h>

#include "cli/shard_runner.hpp"
#include "core/logging.hpp"
#include "ml/base/errors.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/rpc_error.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using oip::OipError;

namespace {

constexpr auto kCallTimeout = 30s;
constexpr auto kNewestFor = 1s;
// Workers tried for one request before it fails.
constexpr std::size_t kAttempts = 3;

std::string frame(const json::object& header, std::string_view payload = {}) {
  std::string out = json::serialize(header);
  out += '\n';
  out.append(payload);
  return out;
}

// The header and the bytes after it; throws OipError(500) when malformed.
std::pair<json::object, std::string_view> unframe(std::string_view bytes) {
  const auto newline = bytes.find('\n');
  boost::system::error_code error;
  json::value header = json::parse(bytes.substr(0, newline), error);
  if (error || !header.is_object() || newline == std::string_view::npos) {
    throw OipError(500, "a worker sent a malformed online inference message");
  }
  return {std::move(header.get_object()), bytes.substr(newline + 1)};
}

std::string refusal(unsigned status, const std::string& message) {
  return frame(json::object{{"error", message}, {"status", status}});
}

void throw_refusal(const json::object& header) {
  if (const json::value* error = header.if_contains("error")) {
    const json::value* status = header.if_contains("status");
    const auto code = status != nullptr && status->is_int64() ? static_cast<unsigned>(status->get_int64()) : 500U;
    throw OipError(code, error->is_string() ? std::string(error->get_string()) : "the worker refused");
  }
}

std::string string_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string encode_values(const oip::InputTensor& input) {
  std::string out;
  if (input.datatype == oip::DataType::uint8) {
    out.resize(input.values.size());
    for (std::size_t i = 0; i < input.values.size(); ++i) out[i] = static_cast<char>(static_cast<std::uint8_t>(input.values[i]));
  } else {
    out.resize(input.values.size() * sizeof(float));
    std::memcpy(out.data(), input.values.data(), out.size());
  }
  return out;
}

oip::InputTensor decode_tensor(const json::object& header, std::string_view payload) {
  oip::InputTensor t;
  t.datatype = string_of(header, "datatype") == "UINT8" ? oip::DataType::uint8 : oip::DataType::fp32;
  std::uint64_t elements = 1;
  if (const json::value* shape = header.if_contains("shape"); shape != nullptr && shape->is_array()) {
    for (const json::value& d : shape->get_array()) {
      const auto dim = d.to_number<std::int64_t>();
      t.shape.push_back(dim);
      elements *= static_cast<std::uint64_t>(dim);
    }
  }
  const std::size_t width = t.datatype == oip::DataType::uint8 ? 1 : sizeof(float);
  if (t.shape.empty() || payload.size() != elements * width) {
    throw OipError(500, "a console sent an online inference tensor whose size does not match its shape");
  }
  t.values.resize(static_cast<std::size_t>(elements));
  if (width == 1) {
    for (std::size_t i = 0; i < t.values.size(); ++i) t.values[i] = static_cast<std::uint8_t>(payload[i]);
  } else {
    std::memcpy(t.values.data(), payload.data(), payload.size());
  }
  return t;
}

json::object info_json(const ml::ModelInfo& info) {
  json::array mean(info.normalization.mean.begin(), info.normalization.mean.end());
  json::array std_dev(info.normalization.std.begin(), info.normalization.std.end());
  return json::object{{"name", info.name},
                      {"source", std::string(ml::to_string(info.source))},
                      {"input", json::array{info.input.channels, info.input.height, info.input.width}},
                      {"classes", info.classes},
                      {"mean", std::move(mean)},
                      {"std", std::move(std_dev)}};
}

ml::ModelInfo info_of(const json::object& o) {
  ml::ModelInfo info;
  info.name = string_of(o, "name");
  const std::string source = string_of(o, "source");
  info.source = source == "zoo" ? ml::ModelSource::zoo : source == "sdfs" ? ml::ModelSource::sdfs : ml::ModelSource::file;
  const auto& input = o.at("input").as_array();
  info.input = {input.at(0).to_number<std::int64_t>(), input.at(1).to_number<std::int64_t>(),
                input.at(2).to_number<std::int64_t>()};
  info.classes = o.at("classes").to_number<std::int64_t>();
  info.normalization.mean.clear();
  info.normalization.std.clear();
  for (const auto& v : o.at("mean").as_array()) info.normalization.mean.push_back(v.to_number<float>());
  for (const auto& v : o.at("std").as_array()) info.normalization.std.push_back(v.to_number<float>());
  return info;
}

// Counts a request to a worker in the router while it is in flight.
struct InFlight {
  OnlineRouter& router;
  std::string worker;
  InFlight(OnlineRouter& r, std::string w) : router(r), worker(std::move(w)) { router.started(worker); }
  ~InFlight() { router.finished(worker); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

}  // namespace

OnlineService::OnlineService(asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                             MembershipService& membership, CoordinatorService& coordinator, SdfsService& sdfs,
                             ExecutorService& executor_service, core::MetricsRegistry& metrics,
                             net::console::StreamRoutes& routes)
    : executor_(executor),
      config_(config),
      self_(config.node.name),
      transport_(transport),
      membership_(membership),
      coordinator_(coordinator),
      sdfs_(sdfs),
      executor_service_(executor_service),
      router_(static_cast<std::size_t>(config.ml.online_workers)) {
  transport_.rpc_server().handle("online.infer", [this](const net::RpcContext& /*context*/, std::string request) {
    return handle_infer(std::move(request));
  });
  transport_.rpc_server().handle("online.model", [this](const net::RpcContext& /*context*/, std::string request) {
    return handle_model(std::move(request));
  });
  metrics.add([this](core::MetricsWriter& w) { write_metrics(w); });
  add_online_routes(routes, *this);
}

OnlineService::~OnlineService() = default;

void OnlineService::start() {
  std::size_t slots = 1;
  if (ml::Engine* engine = executor_service_.engine()) {
    slots = std::max<std::size_t>(1, engine->stats().slots);
    for (const auto& m : engine->models()) {
      if (m.source == ml::ModelSource::zoo) zoo_names_.insert(m.name);
    }
  }
  BatcherOptions options;
  options.max_queue_delay = std::chrono::microseconds(config_.ml.online_queue_delay_us);
  options.max_batch = static_cast<std::size_t>(config_.ml.online_max_batch);
  options.max_in_flight = slots;
  ExecutorService* service = &executor_service_;
  batcher_ = std::make_unique<OnlineBatcher>(
      executor_,
      [service](ml::ModelPtr model, ml::Batch batch) -> asio::awaitable<ml::BatchScores> {
        ml::Engine* engine = service->engine();
        if (engine == nullptr) throw OipError(503, "this worker has no ML engine: " + service->problem());
        return engine->classify(std::move(model), std::move(batch));
      },
      options);
}

asio::awaitable<void> OnlineService::stop(StopDeadline deadline) {
  if (batcher_) co_await batcher_->shutdown(deadline.share(2, 500ms));
}

std::vector<std::string> OnlineService::workers() const {
  std::vector<std::string> all;
  std::vector<std::string> out;
  for (const auto& m : membership_.active_members()) {
    all.push_back(m.id.name);
    if (coordinator_.raft().role_of(m.id.name) != net::NodeRole::coordinator) out.push_back(m.id.name);
  }
  return out.empty() ? all : out;
}

bool OnlineService::ready() const {
  const auto live = workers();
  if (live.empty()) return false;
  return executor_service_.engine() != nullptr || live.size() > 1 || live.front() != self_;
}

std::size_t OnlineService::max_body_bytes() const {
  return static_cast<std::size_t>(config_.console.max_infer_body_mb) << 20;
}

asio::awaitable<std::string> OnlineService::handle(std::string method, std::string request) {
  if (method == "online.infer") co_return co_await handle_infer(std::move(request));
  co_return co_await handle_model(std::move(request));
}

asio::awaitable<std::string> OnlineService::route(std::string model, std::string method, std::string request) {
  const std::vector<std::string> order = router_.choose(model, workers(), OnlineRouter::Clock::now());
  if (order.empty()) throw OipError(503, "no live worker can run models now; try again when the cluster is up");
  std::string failure = "no worker was reachable";
  for (std::size_t i = 0; i < order.size() && i < kAttempts; ++i) {
    const std::string& worker = order[i];
    if (worker == self_) {
      InFlight counted(router_, worker);
      co_return co_await handle(method, request);
    }
    std::optional<core::HostPort> address;
    for (const auto& m : membership_.active_members()) {
      if (m.id.name == worker) address = m.id.addr;
    }
    if (!address) continue;
    ++forwarded_;
    std::string reply;
    failure.clear();
    {
      InFlight counted(router_, worker);
      try {
        auto calling = transport_.rpc_client().call(*address, method, request, kCallTimeout);
        reply = co_await std::move(calling);
      } catch (const net::RpcError& e) {
        if (e.code() == net::RpcErrorCode::stopped) throw OipError(503, "this node is stopping");
        failure = worker + ": " + e.what();
      }
    }
    if (failure.empty()) {
      router_.succeeded(worker);
      co_return reply;
    }
    router_.failed(worker, OnlineRouter::Clock::now());
    spdlog::warn("event=online_worker_failed node={} model={} error={}", worker, core::log_quote(model),
                 core::log_quote(failure));
  }
  throw OipError(503, "no worker could run the request (" + failure + "); try again");
}

asio::awaitable<OnlineModel> OnlineService::model(std::string name, std::string version) {
  auto routing = route(name, "online.model", frame(json::object{{"model", name}, {"version", version}}));
  const std::string reply = co_await std::move(routing);
  const auto [header, payload] = unframe(reply);
  throw_refusal(header);
  OnlineModel out;
  try {
    out.info = info_of(header.at("info").as_object());
  } catch (const std::exception& /*malformed*/) {
    throw OipError(500, "a worker sent malformed model metadata");
  }
  out.version = string_of(header, "version");
  co_return out;
}

asio::awaitable<OnlineScores> OnlineService::infer(std::string name, std::string version, oip::InputTensor input) {
  ++requests_;
  json::array shape(input.shape.begin(), input.shape.end());
  std::string request = frame(json::object{{"model", name},
                                           {"version", version},
                                           {"datatype", oip::to_string(input.datatype)},
                                           {"shape", std::move(shape)}},
                              encode_values(input));
  if (request.size() + 4096 > config_.rpc.max_frame_bytes) {
    ++failures_;
    throw OipError(413, "the tensor is larger than a worker takes (rpc.max_frame_bytes); send fewer images per "
                        "request");
  }
  std::string reply;
  try {
    auto routing = route(name, "online.infer", std::move(request));
    reply = co_await std::move(routing);
  } catch (const OipError& /*refused*/) {
    ++failures_;
    throw;
  }
  const auto [header, payload] = unframe(reply);
  if (header.contains("error")) ++failures_;
  throw_refusal(header);
  OnlineScores out;
  out.version = string_of(header, "version");
  out.classes = static_cast<std::size_t>(header.at("classes").to_number<std::int64_t>());
  out.probabilities.resize(payload.size() / sizeof(float));
  std::memcpy(out.probabilities.data(), payload.data(), out.probabilities.size() * sizeof(float));
  co_return out;
}

asio::awaitable<std::uint64_t> OnlineService::sdfs_version(std::string name, std::string version) {
  if (!version.empty()) {
    std::uint64_t v = 0;
    const auto [end, error] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (error != std::errc() || end != version.data() + version.size() || v == 0) {
      throw OipError(404, "model " + name + " has no version '" + version + "' (SDFS versions are 1, 2, ...)");
    }
    co_return v;
  }
  const auto now = std::chrono::steady_clock::now();
  if (const auto it = newest_.find(name); it != newest_.end() && now - it->second.second < kNewestFor) {
    co_return it->second.first;
  }
  std::optional<OipError> failure;
  fs::NamedVersion found;
  try {
    auto stat = sdfs_.sdfs().stat(name);
    found = co_await std::move(stat);
  } catch (const fs::SdfsError& e) {
    const bool missing = e.kind() == fs::SdfsErrorKind::not_found || e.kind() == fs::SdfsErrorKind::bad_name;
    failure = missing ? OipError(404, "unknown model '" + name +
                                          "': neither a zoo model (see `models`) nor a TorchScript file in SDFS")
                      : OipError(503, "model " + name + ": SDFS cannot answer now (" + e.what() + ")");
  }
  if (failure) throw *failure;
  newest_[name] = {found.entry.version, now};
  co_return found.entry.version;
}

asio::awaitable<OnlineService::Resolved> OnlineService::resolve(std::string name, std::string version,
                                                                std::optional<ml::ImageShape> input) {
  ml::Engine* engine = executor_service_.engine();
  if (engine == nullptr) throw OipError(503, "this worker has no ML engine: " + executor_service_.problem());
  if (zoo_names_.contains(name)) {
    if (!version.empty() && version != "1") {
      throw OipError(404, "model " + name + " is a zoo model and has only version 1");
    }
    auto building = engine->zoo_model(name, 1);  // the seed inference jobs use
    ml::ModelPtr model = co_await std::move(building);
    co_return Resolved{std::move(model), "zoo:" + name + ":1", "1"};
  }
  const std::uint64_t v = co_await sdfs_version(name, version);
  Resolved out{nullptr, "sdfs:" + at_version(name, v), std::to_string(v)};
  if ((out.model = engine->cached(out.key))) co_return out;
  auto& gate = loading_[out.key];
  if (!gate) gate = core::SlotGate::create(1);
  const std::shared_ptr<core::SlotGate> held = gate;
  const auto lease = co_await held->acquire(1);
  if ((out.model = engine->cached(out.key))) co_return out;
  std::optional<OipError> failure;
  std::string bytes;
  try {
    bytes = co_await sdfs_fetch(&sdfs_.sdfs(), name, v, 0, std::nullopt);
  } catch (const fs::SdfsError& e) {
    failure = e.kind() == fs::SdfsErrorKind::not_found
                  ? OipError(404, "model " + name + " has no version " + std::to_string(v))
                  : OipError(503, "model " + name + ": SDFS cannot read it now (" + e.what() + ")");
  }
  if (failure) throw *failure;
  // A file with IDunno's metadata says its input; a plain Python export
  // takes the request's sample shape.
  std::string problem;
  for (const bool with_hint : {false, true}) {
    if (with_hint && !input) break;
    try {
      ml::LoadOptions options{.name = name,
                              .source = ml::ModelSource::sdfs,
                              .input = with_hint ? input : std::nullopt,
                              .normalization = {}};
      auto loading = engine->load_model(out.key, bytes, std::move(options));
      out.model = co_await std::move(loading);
      co_return out;
    } catch (const ml::ModelError& e) {
      problem = e.what();
    }
  }
  throw OipError(400, "model " + name + " cannot be served: " + problem);
}

asio::awaitable<std::string> OnlineService::handle_infer(std::string request) {
  std::string reply;
  try {
    const auto [header, payload] = unframe(request);
    const oip::InputTensor input = decode_tensor(header, payload);
    auto resolving = resolve(string_of(header, "model"), string_of(header, "version"), oip::sample_shape(input));
    const Resolved resolved = co_await std::move(resolving);
    ml::Batch batch = oip::to_batch(input, resolved.model->info());
    if (!batcher_) throw OipError(503, "this worker is starting; try again");
    auto submitting = batcher_->submit(resolved.key, resolved.model, std::move(batch));
    const ml::BatchScores scores = co_await std::move(submitting);
    const std::string_view bytes(reinterpret_cast<const char*>(scores.probabilities.data()),
                                 scores.probabilities.size() * sizeof(float));
    reply = frame(json::object{{"version", resolved.version}, {"classes", scores.classes}}, bytes);
  } catch (const OipError& e) {
    reply = refusal(e.status(), e.what());
  } catch (const ml::ModelError& e) {
    reply = refusal(400, e.what());
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    reply = refusal(503, "the worker is stopping; try again");
  }
  co_return reply;
}

asio::awaitable<std::string> OnlineService::handle_model(std::string request) {
  std::string reply;
  try {
    const auto [header, payload] = unframe(request);
    auto resolving = resolve(string_of(header, "model"), string_of(header, "version"), std::nullopt);
    const Resolved resolved = co_await std::move(resolving);
    reply = frame(json::object{{"version", resolved.version}, {"info", info_json(resolved.model->info())}});
  } catch (const OipError& e) {
    reply = refusal(e.status(), e.what());
  } catch (const ml::ModelError& e) {
    reply = refusal(400, e.what());
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    reply = refusal(503, "the worker is stopping; try again");
  }
  co_return reply;
}

void OnlineService::write_metrics(core::MetricsWriter& w) const {
  w.counter("online_requests_total", "online inference requests this console took", static_cast<double>(requests_));
  w.counter("online_failures_total", "online inference requests this console refused or failed",
            static_cast<double>(failures_));
  w.counter("online_forwarded_total", "online inference calls this console sent to other workers",
            static_cast<double>(forwarded_));
  if (!batcher_) return;
  w.counter("online_batches_total", "online batches this worker ran", static_cast<double>(batcher_->batches_run()));
  w.counter("online_images_total", "images in the online batches this worker ran",
            static_cast<double>(batcher_->images_run()));
  w.gauge("online_largest_batch", "the largest online batch this worker ran",
          static_cast<double>(batcher_->largest_batch()));
}

}  // namespace idunno::cli
