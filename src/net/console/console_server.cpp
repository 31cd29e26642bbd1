#include "net/console/console_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <vector>

#include "net/console/dashboard_page.hpp"
#include "net/console/http_session.hpp"
#include "net/console/ws_protocol.hpp"

namespace idunno::net::console {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Where to listen for `host`: an IP literal, "localhost", or a name resolved
// once at start.
tcp::endpoint listen_endpoint(const asio::any_io_executor& executor, const core::HostPort& bind) {
  std::string host = bind.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(host, error);
    if (!error) return {address, bind.port};
  }
  tcp::resolver resolver(executor);
  boost::system::error_code error;
  const auto results = resolver.resolve(host, std::to_string(bind.port), error);
  if (error || results.empty()) {
    throw ConsoleStartError("console.bind " + bind.to_string() + ": cannot resolve host '" + host +
                            "' (" + error.message() + "); use an IP address");
  }
  return results.begin()->endpoint();
}

asio::awaitable<void> accept_loop(std::shared_ptr<ConsoleContext> context) {
  for (;;) {
    auto [error, socket] = co_await context->acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (context->stopping || !context->acceptor->is_open()) co_return;
    if (error) {
      if (error == asio::error::operation_aborted) co_return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      spdlog::warn("event=console_accept_failed error=\"{}\"", error.message());
      asio::steady_timer pause(context->executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Replies go out whole, as soon as they are written: without this, a
    // small final segment waits for the client's delayed ACK (up to 40 ms).
    boost::system::error_code no_delay_error;
    socket.set_option(asio::ip::tcp::no_delay(true), no_delay_error);
    if (context->connections.size() >= context->limits.max_connections) {
      if (context->refusing < context->limits.max_connections) {
        context->tasks.spawn(refuse_connection(context, std::move(socket)), "console_refuse");
      }
      continue;  // beyond that, the socket just closes
    }
    ConnectionRegistration registration(context);
    context->tasks.spawn(serve_connection(context, std::move(socket), std::move(registration)),
                         "console_connection");
  }
}

}  // namespace

ConsoleServer::ConsoleServer(asio::any_io_executor executor, core::HostPort bind, CommandHandler handler,
                             MetricsProvider metrics, std::string token, std::filesystem::path page_path,
                             ConsoleLimits limits, std::shared_ptr<const StreamRoutes> stream_routes)
    : bind_(std::move(bind)) {
  if (!core::is_loopback_host(bind_.host) && token.empty()) {
    throw ConsoleStartError("console.bind " + bind_.to_string() +
                            " is not a loopback address and console.token is empty: refusing to serve an "
                            "unauthenticated console to the network; set console.token or bind to 127.0.0.1");
  }
  if (!handler) throw std::invalid_argument("ConsoleServer needs a command handler");
  context_ = std::make_shared<ConsoleContext>(std::move(executor), std::move(handler), std::move(metrics),
                                              std::move(token), load_dashboard_page(page_path), limits,
                                              std::move(stream_routes));
}

ConsoleServer::~ConsoleServer() {
  // stop() should have been awaited; if not, connections are told to close
  // and finish on their own (they hold the context, not this object).
  begin_stop();
  context_->tasks.cancel(asio::cancellation_type::terminal);
}

void ConsoleServer::start() {
  if (context_->acceptor) throw std::logic_error("ConsoleServer::start called twice");
  const tcp::endpoint endpoint = listen_endpoint(context_->executor, bind_);
  tcp::acceptor acceptor(context_->executor);
  boost::system::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    throw ConsoleStartError("console.bind " + bind_.to_string() + ": cannot listen (" + error.message() +
                            "); choose another address with --console or console.bind");
  }
  const tcp::endpoint bound = acceptor.local_endpoint();
  local_address_ = core::HostPort{bound.address().to_string(), bound.port()};
  context_->acceptor.emplace(std::move(acceptor));
  context_->tasks.spawn(accept_loop(context_), "console_accept");
  spdlog::info("event=console_started bind={} auth={}", local_address_.to_string(),
               context_->token.empty() ? "none" : "token");
}

void ConsoleServer::publish(const std::string& topic, const boost::json::value& event) {
  if (context_->stopping) return;
  ++context_->counters.events_published_total;
  Frame frame;
  // Copy the registry: a slow subscriber is dropped while we iterate.
  std::vector<ConsoleConnection*> connections;
  for (const auto& [id, connection] : context_->connections) {
    if (connection != nullptr) connections.push_back(connection);
  }
  for (ConsoleConnection* connection : connections) {
    if (!connection->subscribed(topic)) continue;
    if (!frame) frame = std::make_shared<const std::string>(event_frame(event));
    connection->deliver_event(topic, frame);
  }
}

std::size_t ConsoleServer::subscriber_count(const std::string& topic) const {
  std::size_t count = 0;
  for (const auto& [id, connection] : context_->connections) {
    if (connection != nullptr && connection->subscribed(topic)) ++count;
  }
  return count;
}

void ConsoleServer::begin_stop() {
  ConsoleContext& context = *context_;
  if (context.stopping) return;
  context.stopping = true;
  context.tasks.close();
  if (context.acceptor) {
    boost::system::error_code ignored;
    context.acceptor->close(ignored);
  }
  std::vector<ConsoleConnection*> connections;
  for (const auto& [id, connection] : context.connections) {
    if (connection != nullptr) connections.push_back(connection);
  }
  for (ConsoleConnection* connection : connections) connection->request_close();
}

asio::awaitable<void> ConsoleServer::stop(std::chrono::milliseconds grace) {
  const bool first = !context_->stopping;
  begin_stop();
  const bool clean = co_await context_->tasks.shutdown(grace);
  if (first) spdlog::info("event=console_stopped bind={} clean={}", local_address_.to_string(), clean);
}

}  // namespace idunno::net::console
