#include "net/data_stream_server.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <stdexcept>

#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "net/data_stream_connection.hpp"
#include "net/keep_alive.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {
// How long stop() lets handlers finish before cancelling them for good.
constexpr std::chrono::milliseconds stop_grace{500};

std::uint32_t wire(StreamWireCode code) { return static_cast<std::uint32_t>(code); }
}  // namespace

struct DataStreamServer::Impl : std::enable_shared_from_this<DataStreamServer::Impl> {
  Impl(asio::any_io_executor ex, StreamNetwork& net, core::StreamSection stream_limits)
      : executor(ex), network(net), limits(stream_limits), tasks(ex, "stream_server") {}

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> run_handler(std::shared_ptr<Impl> self, DataStreamHandler handler,
                                           std::shared_ptr<StreamSession> session);
  void on_open(const std::shared_ptr<StreamSession>& session);
  StreamConnection::Hooks hooks(std::uint64_t connection_id);

  asio::any_io_executor executor;
  StreamNetwork& network;
  core::StreamSection limits;
  std::map<std::string, DataStreamHandler, std::less<>> handlers;
  core::TaskGroup tasks;
  std::map<std::uint64_t, std::shared_ptr<StreamConnection>> connections;
  std::uint64_t next_connection_id = 1;
  std::size_t active = 0;
  bool started = false;
  bool stopping = false;
};

void DataStreamServer::Impl::on_open(const std::shared_ptr<StreamSession>& session) {
  // No DataStream handle here: the handler's is the first (dropping the
  // last handle cancels the stream).
  auto connection = session->connection.lock();
  if (!connection) return;
  if (stopping) return connection->reject(session, wire(StreamWireCode::stopping), "the node is stopping");
  auto it = handlers.find(session->method);
  if (it == handlers.end()) {
    return connection->reject(session, wire(StreamWireCode::unknown_method),
                              "this node does not serve " + session->method);
  }
  if (active >= static_cast<std::size_t>(limits.max_streams)) {
    spdlog::info("event=stream_rejected peer={} method={} reason=busy active={}", session->peer.to_string(),
                 session->method, active);
    return connection->reject(session, wire(StreamWireCode::busy),
                              "busy: " + std::to_string(active) + " streams running");
  }
  ++active;
  if (!tasks.spawn(run_handler(shared_from_this(), it->second, session), "stream_handler")) {
    --active;
    connection->reject(session, wire(StreamWireCode::stopping), "the node is stopping");
  }
}

asio::awaitable<void> DataStreamServer::Impl::run_handler(std::shared_ptr<Impl> self, DataStreamHandler handler,
                                                          std::shared_ptr<StreamSession> session) {
  struct Done {
    std::size_t& active;
    ~Done() { --active; }
  } done{self->active};
  DataStream stream(session);
  try {
    co_await handler(stream);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) {
      stream.cancel(wire(StreamWireCode::stopping), "the node is stopping");
    } else {
      spdlog::warn("event=stream_handler_failed method={} peer={} error={}", session->method,
                   session->peer.to_string(), core::log_quote(e.what()));
      stream.cancel(wire(StreamWireCode::handler_failed), std::string("internal error: ") + e.what());
    }
  } catch (const std::exception& e) {
    spdlog::warn("event=stream_handler_failed method={} peer={} error={}", session->method, session->peer.to_string(),
                 core::log_quote(e.what()));
    stream.cancel(wire(StreamWireCode::handler_failed), std::string("internal error: ") + e.what());
  }
  if (auto connection = session->connection.lock()) co_await connection->handler_returned(session);
}

StreamConnection::Hooks DataStreamServer::Impl::hooks(std::uint64_t connection_id) {
  StreamConnection::Hooks hooks;
  hooks.on_open = [weak = weak_from_this()](std::shared_ptr<StreamSession> session) {
    if (auto self = weak.lock()) self->on_open(session);
  };
  hooks.on_closed = [weak = weak_from_this(), connection_id](StreamConnection&) {
    if (auto self = weak.lock()) self->connections.erase(connection_id);
  };
  return hooks;
}

asio::awaitable<void> DataStreamServer::Impl::accept_loop(std::shared_ptr<Impl> self) {
  // Idle pooled connections of every peer, and those running streams.
  const std::size_t max_connections = 4 * static_cast<std::size_t>(self->limits.max_streams) + 16;
  spdlog::info("event=stream_server_started addr={}", self->network.local_address().to_string());
  while (!self->stopping) {
    std::unique_ptr<Stream> stream;
    boost::system::error_code error;
    try {
      stream = co_await self->network.accept();
    } catch (const boost::system::system_error& e) {
      error = e.code();
    }
    if (!stream) {
      if (self->stopping || error == asio::error::operation_aborted) break;
      spdlog::warn("event=stream_accept_failed error={}", core::log_quote(error.message()));
      asio::steady_timer pause(self->executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    if (self->connections.size() >= max_connections) {
      spdlog::warn("event=stream_conn_closed side=server peer={} reason=\"too many connections\"",
                   stream->peer().to_string());
      stream->close();
      continue;
    }
    const std::uint64_t id = self->next_connection_id++;
    auto connection = std::make_shared<StreamConnection>(self->executor, std::move(stream), self->limits, true,
                                                         self->hooks(id));
    self->connections.emplace(id, connection);
    self->tasks.spawn(keep_alive(connection, connection->run()), "stream_connection");
  }
  spdlog::info("event=stream_server_stopped addr={}", self->network.local_address().to_string());
}

DataStreamServer::DataStreamServer(asio::any_io_executor executor, StreamNetwork& network, core::StreamSection limits)
    : impl_(std::make_shared<Impl>(std::move(executor), network, limits)) {}

DataStreamServer::~DataStreamServer() {
  impl_->stopping = true;
  auto connections = impl_->connections;
  for (auto& [id, connection] : connections) connection->close(StreamStatus::failure(StreamCode::stopped, "stopped"));
  impl_->tasks.cancel(asio::cancellation_type::terminal);
}

void DataStreamServer::handle(std::string method, DataStreamHandler handler) {
  if (impl_->started) throw std::logic_error("DataStreamServer::handle(" + method + ") after start()");
  impl_->handlers[std::move(method)] = std::move(handler);
}

void DataStreamServer::start() {
  if (impl_->started) throw std::logic_error("DataStreamServer::start() called twice");
  impl_->started = true;
  impl_->tasks.spawn(Impl::accept_loop(impl_), "stream_accept");
}

asio::awaitable<void> DataStreamServer::stop() {
  auto impl = impl_;
  impl->stopping = true;
  impl->network.close();
  auto connections = impl->connections;
  for (auto& [id, connection] : connections) connection->shutdown("the node is stopping");
  co_await impl->tasks.shutdown(stop_grace);
  connections = impl->connections;
  for (auto& [id, connection] : connections) connection->close(StreamStatus::failure(StreamCode::stopped, "stopped"));
  impl->connections.clear();
}

std::size_t DataStreamServer::connection_count() const { return impl_->connections.size(); }
std::size_t DataStreamServer::active_streams() const { return impl_->active; }

}  // namespace idunno::net
