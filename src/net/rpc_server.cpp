#include "net/rpc_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/logging.hpp"
#include "net/keep_alive.hpp"
#include "net/rpc_server_impl.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {
// How long stop() lets handlers finish before cancelling them for good.
constexpr std::chrono::milliseconds stop_grace{500};
}  // namespace

RpcServer::RpcServer(asio::any_io_executor executor, StreamNetwork& network, core::RpcSection limits)
    : impl_(std::make_shared<Impl>(std::move(executor), network, limits)) {}

RpcServer::~RpcServer() {
  impl_->stopping = true;
  for (auto& [id, connection] : impl_->connections) connection->close();
  impl_->tasks.cancel(asio::cancellation_type::terminal);
}

void RpcServer::handle(std::string method, RpcHandler handler) {
  if (impl_->started) throw std::logic_error("RpcServer::handle(" + method + ") after start()");
  auto handlers = std::make_shared<RpcHandlerMap>(*impl_->handlers);
  (*handlers)[std::move(method)] = std::move(handler);
  impl_->handlers = std::move(handlers);
}

void RpcServer::set_term_source(std::function<std::uint64_t()> term_source) {
  impl_->term_source = std::move(term_source);
}

void RpcServer::start() {
  if (impl_->started) throw std::logic_error("RpcServer::start() called twice");
  impl_->started = true;
  impl_->tasks.spawn(Impl::accept_loop(impl_), "rpc_accept");
}

asio::awaitable<void> RpcServer::stop() {
  auto impl = impl_;
  impl->stopping = true;
  for (auto& [id, connection] : impl->connections) connection->close();
  co_await impl->tasks.shutdown(stop_grace);
  impl->connections.clear();
}

std::size_t RpcServer::connection_count() const { return impl_->connections.size(); }

asio::awaitable<void> RpcServer::Impl::accept_loop(std::shared_ptr<Impl> self) {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  auto& network = self->network;
  spdlog::info("event=rpc_server_started addr={}", network.local_address().to_string());
  while (!self->stopping) {
    std::unique_ptr<Stream> stream;
    boost::system::error_code error;
    try {
      stream = co_await network.accept();
    } catch (const boost::system::system_error& e) {
      error = e.code();
    }
    if (!stream) {
      if (self->stopping || error == asio::error::operation_aborted) break;
      // E.g. out of file descriptors: wait a little instead of spinning.
      spdlog::warn("event=rpc_accept_failed error={}", core::log_quote(error.message()));
      asio::steady_timer pause(self->executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    const std::uint64_t id = self->next_connection_id++;
    auto connection = std::make_shared<ServerConnection>(self, id, std::move(stream));
    self->connections.emplace(id, connection);
    self->tasks.spawn(keep_alive(connection, connection->run()), "rpc_server_connection");
  }
  spdlog::info("event=rpc_server_stopped addr={}", network.local_address().to_string());
}

}  // namespace idunno::net
