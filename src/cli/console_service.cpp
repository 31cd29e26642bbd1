#include "cli/console_service.hpp"

namespace idunno::cli {

namespace asio = boost::asio;

ConsoleService::ConsoleService(asio::any_io_executor executor, core::ConsoleSection config,
                               CommandDispatcher& dispatcher, core::MetricsRegistry& metrics, NodeEvents& events,
                               std::shared_ptr<const net::console::StreamRoutes> routes, std::filesystem::path page)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      dispatcher_(dispatcher),
      metrics_(metrics),
      events_(events),
      routes_(std::move(routes)),
      page_(std::move(page)) {}

ConsoleService::~ConsoleService() { events_.detach(); }

std::filesystem::path ConsoleService::default_dashboard_page() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto dir = exe.parent_path();
    // The build tree (build/bin/../../web), beside the binary, and the
    // installed layout (/usr/bin/../share/idunno/web).
    for (const auto& candidate :
         {dir / "../../web/index.html", dir / "web/index.html", dir / "../share/idunno/web/index.html"}) {
      if (std::filesystem::exists(candidate)) return candidate.lexically_normal();
    }
  }
  return "web/index.html";
}

void ConsoleService::start() {
  server_ = std::make_unique<net::console::ConsoleServer>(
      executor_, config_.bind,
      [this](std::string cmd, std::vector<std::string> args) {
        return dispatcher_.dispatch(std::move(cmd), std::move(args));
      },
      [this] { return metrics_.render(); }, config_.token, page_, net::console::ConsoleLimits{}, routes_);
  if (trusted_origin_) server_->set_trusted_origin(trusted_origin_);
  server_->start();
  events_.attach(server_.get());
}

asio::awaitable<void> ConsoleService::drain(StopDeadline deadline) {
  events_.detach();
  if (server_) co_await server_->stop(deadline.share(4, std::chrono::milliseconds(1000)));
}

asio::awaitable<void> ConsoleService::stop(StopDeadline deadline) {
  // Already stopped by drain(); stop() is safe to call twice.
  if (server_) co_await server_->stop(deadline.share(4, std::chrono::milliseconds(100)));
}

}  // namespace idunno::cli
