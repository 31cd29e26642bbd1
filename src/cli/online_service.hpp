#pragma once
// Online inference as a node service: the backend of the console's Open
// Inference Protocol routes (online_http.hpp) on every node, and the
// worker side that runs the requests routed to this node.
//
// Why: any console must answer for any model the cluster holds (a zoo
// model, or a TorchScript file in SDFS), but a model runs best where it is
// already warm. The console side ranks the live workers for the model
// (online_router.hpp) and sends the request's tensor to the chosen one by
// RPC ("online.infer", "online.model"), or runs it here when this node is
// the one; a worker that cannot be reached is passed over and the next one
// tried. The worker side resolves the model (zoo models are built from
// seed 1, as inference jobs build them; an SDFS model is loaded at its
// newest version, or the one asked for, under the cache key jobs use),
// preprocesses the tensor as jobs preprocess images (oip_codec.hpp) and
// hands it to its dynamic batcher (online_batcher.hpp), whose batches take
// executor slots like the batches of jobs.
//
// Workers are the live members other than the coordinator (all of them
// when the coordinator is alone), as for jobs.
//
// Event loop only. Everything passed to the constructor outlives it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/coordinator_service.hpp"
#include "cli/executor_service.hpp"
#include "cli/membership_service.hpp"
#include "cli/online_batcher.hpp"
#include "cli/online_http.hpp"
#include "cli/online_router.hpp"
#include "cli/sdfs_service.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/slot_gate.hpp"

namespace idunno::cli {

class OnlineService final : public Service, public OnlineBackend {
 public:
  OnlineService(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                MembershipService& membership, CoordinatorService& coordinator, SdfsService& sdfs,
                ExecutorService& executor_service, core::MetricsRegistry& metrics,
                net::console::StreamRoutes& routes);
  ~OnlineService() override;

  std::string_view name() const override { return "online"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  // OnlineBackend (the console side).
  bool ready() const override;
  std::size_t max_body_bytes() const override;
  boost::asio::awaitable<OnlineModel> model(std::string name, std::string version) override;
  boost::asio::awaitable<OnlineScores> infer(std::string name, std::string version,
                                             oip::InputTensor input) override;

 private:
  // A model resolved on this node, ready to run.
  struct Resolved {
    ml::ModelPtr model;
    std::string key;  // the engine's cache key
    std::string version;
  };

  std::vector<std::string> workers() const;
  // Runs `request` ("online.infer" or "online.model" wire bytes) on the
  // best worker for `model`; returns the reply's bytes.
  boost::asio::awaitable<std::string> route(std::string model, std::string method, std::string request);
  boost::asio::awaitable<std::string> handle(std::string method, std::string request);

  // Worker side.
  boost::asio::awaitable<Resolved> resolve(std::string name, std::string version,
                                           std::optional<ml::ImageShape> input);
  boost::asio::awaitable<std::uint64_t> sdfs_version(std::string name, std::string version);
  boost::asio::awaitable<std::string> handle_infer(std::string request);
  boost::asio::awaitable<std::string> handle_model(std::string request);
  void write_metrics(core::MetricsWriter& writer) const;

  boost::asio::any_io_executor executor_;
  const core::Config& config_;
  std::string self_;
  TransportService& transport_;
  MembershipService& membership_;
  CoordinatorService& coordinator_;
  SdfsService& sdfs_;
  ExecutorService& executor_service_;
  OnlineRouter router_;
  std::unique_ptr<OnlineBatcher> batcher_;
  std::set<std::string> zoo_names_;
  // The newest version of SDFS models, briefly (a stat per request would
  // cost a coordinator read each).
  std::map<std::string, std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> newest_;
  // One load per model at a time.
  std::map<std::string, std::shared_ptr<core::SlotGate>> loading_;
  std::uint64_t requests_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t forwarded_ = 0;
};

}  // namespace idunno::cli
