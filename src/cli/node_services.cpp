#include "cli/node_services.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "net/lossy_datagram.hpp"
#include "net/swim/swim_config.hpp"

namespace idunno::cli {

namespace asio = boost::asio;

namespace {
// The dashboard page ships in web/ beside the binaries' build tree
// (build/bin/../../web) or is installed beside the binary.
std::filesystem::path dashboard_page() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate : {exe.parent_path() / "../../web/index.html", exe.parent_path() / "web/index.html"}) {
      if (std::filesystem::exists(candidate)) return candidate.lexically_normal();
    }
  }
  return "web/index.html";
}
}  // namespace

NodeServices::NodeServices(asio::io_context& io, const core::Config& config_in)
    : config(config_in),
      executor(io.get_executor()),
      pool(static_cast<std::size_t>(config_in.ml.threads)),
      tasks(executor, "node"),
      dispatcher(CommandTable::builtin()) {}

NodeServices::~NodeServices() = default;

void NodeServices::start() {
  tcp = net::TcpNetwork::listen(executor, config.node.bind);
  rpc_server = std::make_unique<net::RpcServer>(executor, *tcp, config.rpc);
  rpc_client = std::make_unique<net::RpcClient>(executor, *tcp, config.rpc);
  udp = net::UdpTransport::bind(executor, config.node.bind);
  if (config.membership.inject_loss_percent > 0) {
    spdlog::warn("event=inject_loss percent={}", config.membership.inject_loss_percent);
    udp = std::make_unique<net::LossyDatagramTransport>(
        std::move(udp), config.membership.inject_loss_percent / 100.0, static_cast<std::uint64_t>(::getpid()));
  }
  const auto start_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(started_at.time_since_epoch()).count());
  swim = std::make_unique<swim::SwimDriver>(
      executor, *udp, *rpc_server, *rpc_client, swim::from_config(config.membership, config.cluster),
      swim::MemberId{config.node_name(), config.advertise_address(), start_ms},
      start_ms ^ std::hash<std::string>{}(config.node_name()));
  raft = std::make_unique<net::RaftDriver>(executor, *rpc_server, *rpc_client, coordinator_state,
                                           net::RaftDriverOptions::from_config(config));

  bind_coordinator_commands(*this);
  bind_membership_commands(*this);
#ifdef IDUNNO_WITH_ML
  ml = std::make_unique<ml::Executor>(pool, ml::executor_options(config.ml));
  bind_ml_commands(*this);
#endif
  wire_membership();

  console = std::make_unique<net::console::ConsoleServer>(
      executor, config.console.bind,
      [this](std::string cmd, std::vector<std::string> args) {
        return dispatcher.dispatch(std::move(cmd), std::move(args));
      },
      [this] { return metrics.render(); }, config.console.token, dashboard_page());

  rpc_server->start();
  swim->start(config.cluster.seeds);
  raft->start();
  console->start();
}

asio::awaitable<void> NodeServices::stop(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  if (console) co_await console->stop(std::min(left() / 4, std::chrono::milliseconds(1000)));
  // Leave first so that others see `left`, not a failure; a leader then
  // hands over while RPC still runs.
  if (swim) co_await swim->leave(std::min(left() / 4, std::chrono::milliseconds(600)));
  if (raft) co_await raft->stop(std::min(left() / 4, std::chrono::milliseconds(500)));
  if (swim) co_await swim->stop();
  if (rpc_server) co_await rpc_server->stop();
  if (rpc_client) co_await rpc_client->stop();
  co_await tasks.shutdown(std::max(left(), std::chrono::milliseconds(0)));
  if (tcp) tcp->close();
}

}  // namespace idunno::cli
