#include "net/connection_demux.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <stdexcept>
#include <string>

#include "core/logging.hpp"
#include "core/timeout.hpp"
#include "net/async_signal.hpp"

namespace idunno::net {

namespace asio = boost::asio;

std::array<std::uint8_t, preface_bytes> connection_preface(ConnectionKind kind) {
  return {'I', 'D', 'N', static_cast<std::uint8_t>(kind)};
}

namespace {

constexpr std::array<ConnectionKind, 2> all_kinds = {ConnectionKind::rpc, ConnectionKind::data_stream};

std::size_t index_of(ConnectionKind kind) { return kind == ConnectionKind::rpc ? 0 : 1; }

const char* name_of(ConnectionKind kind) { return kind == ConnectionKind::rpc ? "rpc" : "stream"; }

// Connections of one kind waiting for their accept().
struct KindQueue {
  explicit KindQueue(asio::any_io_executor executor) : signal(std::move(executor)) {}
  std::deque<std::unique_ptr<Stream>> waiting;
  AsyncSignal signal;
  bool closed = false;
};

[[noreturn]] void aborted() { throw boost::system::system_error(asio::error::operation_aborted); }

// The StreamNetwork of one kind.
class KindNetwork final : public StreamNetwork {
 public:
  KindNetwork(StreamNetwork& underlying, ConnectionKind kind, std::shared_ptr<KindQueue> queue,
              std::chrono::milliseconds write_timeout)
      : underlying_(underlying), kind_(kind), queue_(std::move(queue)), write_timeout_(write_timeout) {}

  asio::awaitable<std::unique_ptr<Stream>> connect(const core::HostPort& to) override {
    return connect_on(&underlying_, to, kind_, write_timeout_);
  }

  asio::awaitable<std::unique_ptr<Stream>> accept() override { return accept_on(queue_); }

  core::HostPort local_address() const override { return underlying_.local_address(); }

  void close() override {
    queue_->closed = true;
    queue_->waiting.clear();
    queue_->signal.notify_all();
  }

 private:
  static asio::awaitable<std::unique_ptr<Stream>> connect_on(StreamNetwork* underlying, core::HostPort to,
                                                             ConnectionKind kind,
                                                             std::chrono::milliseconds write_timeout) {
    auto stream = co_await underlying->connect(to);
    const auto preface = connection_preface(kind);
    try {
      co_await core::with_timeout(stream->write_all(preface), write_timeout);
    } catch (const core::TimeoutError&) {
      stream->close();
      throw boost::system::system_error(asio::error::timed_out);
    }
    co_return stream;
  }

  static asio::awaitable<std::unique_ptr<Stream>> accept_on(std::shared_ptr<KindQueue> queue) {
    while (queue->waiting.empty()) {
      if (queue->closed) aborted();
      co_await queue->signal.wait();
    }
    auto stream = std::move(queue->waiting.front());
    queue->waiting.pop_front();
    co_return stream;
  }

  StreamNetwork& underlying_;
  ConnectionKind kind_;
  std::shared_ptr<KindQueue> queue_;
  std::chrono::milliseconds write_timeout_;
};

// Reads exactly the preface (never a byte of what follows it).
asio::awaitable<void> read_preface(Stream* stream, std::array<std::uint8_t, preface_bytes>* out) {
  std::size_t have = 0;
  while (have < preface_bytes) {
    const std::size_t n = co_await stream->read_some(std::span<std::uint8_t>(out->data() + have, preface_bytes - have));
    if (n == 0) throw std::runtime_error("closed after " + std::to_string(have) + " preface bytes");
    have += n;
  }
}

}  // namespace

struct ConnectionDemux::Impl : std::enable_shared_from_this<ConnectionDemux::Impl> {
  Impl(asio::any_io_executor ex, StreamNetwork& net, std::chrono::milliseconds timeout)
      : executor(ex), underlying(net), preface_timeout(timeout), tasks(ex, "connection_demux") {
    for (auto kind : all_kinds) {
      auto queue = std::make_shared<KindQueue>(ex);
      queues[index_of(kind)] = queue;
      networks[index_of(kind)] = std::make_unique<KindNetwork>(net, kind, queue, timeout);
    }
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> route(std::shared_ptr<Impl> self, std::unique_ptr<Stream> stream);

  asio::any_io_executor executor;
  StreamNetwork& underlying;
  std::chrono::milliseconds preface_timeout;
  core::TaskGroup tasks;
  std::array<std::shared_ptr<KindQueue>, 2> queues;
  std::array<std::unique_ptr<KindNetwork>, 2> networks;
  std::size_t unannounced = 0;
  bool started = false;
  bool stopping = false;
};

asio::awaitable<void> ConnectionDemux::Impl::accept_loop(std::shared_ptr<Impl> self) {
  while (!self->stopping) {
    std::unique_ptr<Stream> stream;
    boost::system::error_code error;
    try {
      stream = co_await self->underlying.accept();
    } catch (const boost::system::system_error& e) {
      error = e.code();
    }
    if (!stream) {
      if (self->stopping || error == asio::error::operation_aborted) break;
      // E.g. out of file descriptors: wait a little instead of spinning.
      spdlog::warn("event=conn_accept_failed error={}", core::log_quote(error.message()));
      asio::steady_timer pause(self->executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    if (self->unannounced >= max_unannounced) {
      spdlog::warn("event=conn_rejected peer={} reason=\"too many connections owe their preface\"",
                   stream->peer().to_string());
      stream->close();
      continue;
    }
    ++self->unannounced;
    self->tasks.spawn(route(self, std::move(stream)), "conn_preface");
  }
}

asio::awaitable<void> ConnectionDemux::Impl::route(std::shared_ptr<Impl> self, std::unique_ptr<Stream> stream) {
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{self->unannounced};
  const core::HostPort peer = stream->peer();
  std::array<std::uint8_t, preface_bytes> preface{};
  std::string reason;
  try {
    co_await core::with_timeout(read_preface(stream.get(), &preface), self->preface_timeout);
  } catch (const core::TimeoutError&) {
    reason = "no preface within " + std::to_string(self->preface_timeout.count()) + " ms";
  } catch (const std::exception& e) {
    reason = std::string("no preface: ") + e.what();
  }
  std::shared_ptr<KindQueue> queue;
  if (reason.empty()) {
    for (auto kind : all_kinds) {
      if (preface == connection_preface(kind)) queue = self->queues[index_of(kind)];
    }
    if (!queue) reason = "not a cluster connection (bad preface)";
  }
  if (reason.empty() && queue->closed) reason = "not accepting this kind of connection";
  if (reason.empty() && queue->waiting.size() >= max_waiting) reason = "too many connections waiting to be served";
  if (!reason.empty()) {
    spdlog::warn("event=conn_rejected peer={} reason={}", peer.to_string(), core::log_quote(reason));
    stream->close();
    co_return;
  }
  spdlog::debug("event=conn_routed peer={} kind={}", peer.to_string(),
                name_of(static_cast<ConnectionKind>(preface[preface_bytes - 1])));
  queue->waiting.push_back(std::move(stream));
  queue->signal.notify_all();
}

ConnectionDemux::ConnectionDemux(asio::any_io_executor executor, StreamNetwork& underlying,
                                 std::chrono::milliseconds preface_timeout)
    : impl_(std::make_shared<Impl>(std::move(executor), underlying, preface_timeout)) {}

ConnectionDemux::~ConnectionDemux() {
  impl_->stopping = true;
  for (auto& network : impl_->networks) network->close();
  impl_->tasks.cancel(asio::cancellation_type::terminal);
}

StreamNetwork& ConnectionDemux::network(ConnectionKind kind) { return *impl_->networks[index_of(kind)]; }

void ConnectionDemux::start() {
  if (impl_->started) throw std::logic_error("ConnectionDemux::start() called twice");
  impl_->started = true;
  impl_->tasks.spawn(Impl::accept_loop(impl_), "conn_accept");
}

asio::awaitable<void> ConnectionDemux::stop() {
  auto impl = impl_;
  impl->stopping = true;
  impl->underlying.close();
  for (auto& network : impl->networks) network->close();
  co_await impl->tasks.shutdown(std::chrono::milliseconds(200));
}

}  // namespace idunno::net
