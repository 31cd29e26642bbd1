#pragma once
// The HTTP + WebSocket console as a node service: serves the dispatcher's
// commands, the metrics registry, the dashboard page and the node's event
// stream on console.bind.
//
// Why: the console is how users reach every other service, so it starts
// last (everything it offers exists) and stops first: its drain() already
// closes it, so no new command arrives while the services below drain and
// stop. Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <filesystem>
#include <functional>
#include <memory>

#include "cli/command_dispatcher.hpp"
#include "cli/node_events.hpp"
#include "cli/service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "net/console/console_server.hpp"

namespace idunno::cli {

class ConsoleService final : public Service {
 public:
  // `routes`: the streamed HTTP routes services registered (the file API),
  // read when the console starts.
  ConsoleService(boost::asio::any_io_executor executor, core::ConsoleSection config, CommandDispatcher& dispatcher,
                 core::MetricsRegistry& metrics, NodeEvents& events,
                 std::shared_ptr<const net::console::StreamRoutes> routes,
                 std::filesystem::path page = default_dashboard_page());
  ~ConsoleService() override;

  std::string_view name() const override { return "console"; }
  // Binds console.bind; throws ConsoleStartError naming it.
  void start() override;
  boost::asio::awaitable<void> drain(StopDeadline deadline) override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  // The address bound (real port when console.bind had port 0).
  core::HostPort local_address() const { return server_ ? server_->local_address() : config_.bind; }
  net::console::ConsoleServer* server() { return server_.get(); }

  // Origins besides its own whose pages may open a WebSocket (other
  // consoles of the cluster); set before start().
  void set_trusted_origin(std::function<bool(std::string_view)> trusted) { trusted_origin_ = std::move(trusted); }

  // web/index.html of the source tree (beside the build tree's binaries),
  // beside the binary, or where the package installs it
  // (BINDIR/../share/idunno/web/index.html).
  static std::filesystem::path default_dashboard_page();

 private:
  boost::asio::any_io_executor executor_;
  core::ConsoleSection config_;
  CommandDispatcher& dispatcher_;
  core::MetricsRegistry& metrics_;
  NodeEvents& events_;
  std::shared_ptr<const net::console::StreamRoutes> routes_;
  std::filesystem::path page_;
  std::function<bool(std::string_view)> trusted_origin_;
  std::unique_ptr<net::console::ConsoleServer> server_;
};

}  // namespace idunno::cli
