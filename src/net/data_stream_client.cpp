#include "net/data_stream_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "core/timeout.hpp"
#include "net/data_stream_connection.hpp"
#include "net/keep_alive.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::chrono::milliseconds stop_grace{500};
constexpr std::size_t max_open_metadata_bytes = 60 * 1024;
}  // namespace

struct DataStreamClient::Impl : std::enable_shared_from_this<DataStreamClient::Impl> {
  Impl(asio::any_io_executor ex, StreamNetwork& net, core::StreamSection stream_limits)
      : executor(ex), network(net), limits(stream_limits), tasks(ex, "stream_client") {}

  // A free pooled connection to `to`, or nullptr.
  std::shared_ptr<StreamConnection> take_idle(const core::HostPort& to);
  // A new connection, or the reason there is none.
  static asio::awaitable<std::shared_ptr<StreamConnection>> connect(std::shared_ptr<Impl> self, core::HostPort to,
                                                                    std::chrono::milliseconds limit,
                                                                    std::string* error);
  void on_idle(std::shared_ptr<StreamConnection> connection);
  void forget(StreamConnection& connection);

  asio::any_io_executor executor;
  StreamNetwork& network;
  core::StreamSection limits;
  core::TaskGroup tasks;
  std::map<core::HostPort, std::vector<std::shared_ptr<StreamConnection>>> idle;
  std::map<StreamConnection*, std::weak_ptr<StreamConnection>> live;
  bool stopped = false;
};

std::shared_ptr<StreamConnection> DataStreamClient::Impl::take_idle(const core::HostPort& to) {
  auto it = idle.find(to);
  if (it == idle.end()) return nullptr;
  auto& pool = it->second;
  std::shared_ptr<StreamConnection> found;
  while (!pool.empty() && !found) {
    auto candidate = std::move(pool.back());
    pool.pop_back();
    if (candidate->idle()) found = std::move(candidate);
  }
  if (pool.empty()) idle.erase(it);
  return found;
}

void DataStreamClient::Impl::on_idle(std::shared_ptr<StreamConnection> connection) {
  auto& pool = idle[connection->peer()];
  if (stopped || pool.size() >= max_idle_per_peer) {
    connection->close(StreamStatus{});
    return;
  }
  pool.push_back(std::move(connection));
}

void DataStreamClient::Impl::forget(StreamConnection& connection) {
  live.erase(&connection);
  auto it = idle.find(connection.peer());
  if (it == idle.end()) return;
  std::erase_if(it->second, [&](const auto& c) { return c.get() == &connection; });
  if (it->second.empty()) idle.erase(it);
}

asio::awaitable<std::shared_ptr<StreamConnection>> DataStreamClient::Impl::connect(std::shared_ptr<Impl> self,
                                                                                   core::HostPort to,
                                                                                   std::chrono::milliseconds limit,
                                                                                   std::string* error) {
  std::unique_ptr<Stream> stream;
  try {
    stream = co_await core::with_timeout(self->network.connect(to), limit);
  } catch (const core::TimeoutError&) {
    *error = "connect timed out after " + std::to_string(limit.count()) + " ms";
  } catch (const std::exception& e) {
    *error = e.what();
  }
  if (!stream) co_return nullptr;
  if (self->stopped) {
    stream->close();
    *error = "stream client is stopped";
    co_return nullptr;
  }
  StreamConnection::Hooks hooks;
  hooks.on_idle = [weak = self->weak_from_this()](std::shared_ptr<StreamConnection> connection) {
    if (auto impl = weak.lock()) impl->on_idle(std::move(connection));
  };
  hooks.on_closed = [weak = self->weak_from_this()](StreamConnection& connection) {
    if (auto impl = weak.lock()) impl->forget(connection);
  };
  auto connection = std::make_shared<StreamConnection>(self->executor, std::move(stream), self->limits, false,
                                                       std::move(hooks));
  self->live.emplace(connection.get(), connection);
  if (!self->tasks.spawn(keep_alive(connection, connection->run()), "stream_connection")) {
    connection->close(StreamStatus::failure(StreamCode::stopped, "stream client is stopped"));
    *error = "stream client is stopped";
    co_return nullptr;
  }
  co_return connection;
}

namespace {

std::shared_ptr<StreamSession> failed_session(asio::any_io_executor executor, const core::HostPort& to,
                                              const std::string& method, StreamStatus status) {
  auto session = std::make_shared<StreamSession>(std::move(executor), 0, false);
  session->peer = to;
  session->method = method;
  session->phase = StreamSession::Phase::done;
  session->status = std::move(status);
  return session;
}

asio::awaitable<DataStream> open_on(std::shared_ptr<DataStreamClient::Impl> impl, core::HostPort to,
                                    std::string method, std::string header, StreamOpenOptions options) {
  if (impl->stopped) {
    co_return DataStream(failed_session(impl->executor, to, method,
                                        StreamStatus::failure(StreamCode::stopped, "stream client is stopped")));
  }
  const auto deadline =
      options.deadline.count() > 0 ? Clock::now() + options.deadline : Clock::time_point::max();
  for (int attempt = 0;; ++attempt) {
    auto connection = impl->take_idle(to);
    const bool reused = connection != nullptr;
    if (!connection) {
      auto limit = std::chrono::milliseconds(impl->limits.connect_timeout_ms);
      if (options.deadline.count() > 0) {
        limit = std::min(limit, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      }
      std::string error;
      connection = co_await DataStreamClient::Impl::connect(impl, to, limit, &error);
      if (!connection) {
        spdlog::debug("event=stream_connect_failed peer={} reason={}", to.to_string(), core::log_quote(error));
        co_return DataStream(failed_session(
            impl->executor, to, method,
            StreamStatus::failure(StreamCode::unreachable, "cannot connect to " + to.to_string() + ": " + error)));
      }
    }
    auto session = std::make_shared<StreamSession>(impl->executor, connection->next_stream_id(), false);
    session->method = method;
    session->header = header;
    session->term = options.term;
    session->deadline = deadline;
    session->reused_connection = reused;
    StreamOpen open;
    open.set_method(method);
    open.set_header(header);
    open.set_term(options.term);
    open.set_deadline_ms(static_cast<std::uint32_t>(std::clamp<std::int64_t>(options.deadline.count(), 0, UINT32_MAX)));
    open.set_declared_bytes(options.declared_bytes);
    co_await connection->open(session, std::move(open));
    const bool stale_pooled = session->failed() && !session->answered && reused &&
                              session->status.code == StreamCode::connection_reset;
    if (stale_pooled && attempt == 0) continue;  // the peer had closed it: once more on a new connection
    co_return DataStream(session);
  }
}

}  // namespace

DataStreamClient::DataStreamClient(asio::any_io_executor executor, StreamNetwork& network, core::StreamSection limits)
    : impl_(std::make_shared<Impl>(std::move(executor), network, limits)) {}

DataStreamClient::~DataStreamClient() {
  impl_->stopped = true;
  auto live = impl_->live;
  for (auto& [ptr, weak] : live) {
    if (auto connection = weak.lock()) connection->close(StreamStatus::failure(StreamCode::stopped, "stopped"));
  }
  impl_->tasks.cancel(asio::cancellation_type::terminal);
}

asio::awaitable<DataStream> DataStreamClient::open(const core::HostPort& to, std::string method, std::string header,
                                                   StreamOpenOptions options) {
  if (method.empty() || method.size() + header.size() > max_open_metadata_bytes) {
    throw std::invalid_argument("data stream open needs a method and at most " +
                                std::to_string(max_open_metadata_bytes) + " bytes of method and header");
  }
  // Not a coroutine itself: open_on copies `to` before the caller resumes.
  return open_on(impl_, to, std::move(method), std::move(header), options);
}

asio::awaitable<void> DataStreamClient::stop() {
  auto impl = impl_;
  impl->stopped = true;
  auto live = impl->live;
  for (auto& [ptr, weak] : live) {
    if (auto connection = weak.lock()) {
      connection->close(StreamStatus::failure(StreamCode::stopped, "stream client is stopped"));
    }
  }
  impl->idle.clear();
  co_await impl->tasks.shutdown(stop_grace);
}

std::size_t DataStreamClient::connection_count() const { return impl_->live.size(); }

std::size_t DataStreamClient::idle_connection_count(const core::HostPort& to) const {
  auto it = impl_->idle.find(to);
  return it == impl_->idle.end() ? 0 : it->second.size();
}

}  // namespace idunno::net
