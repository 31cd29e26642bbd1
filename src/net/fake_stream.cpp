#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

#include "net/fake_network_state.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {

[[noreturn]] void fail(asio::error::basic_errors error) { throw boost::system::system_error(error); }

// A connect waiting out its handshake delay.
struct Handshake {
  explicit Handshake(asio::any_io_executor executor) : signal(std::move(executor)) {}
  bool done = false;
  AsyncSignal signal;
};

// One end of a FakeConnection. Side a is the connecting end.
class FakeStream final : public Stream {
 public:
  FakeStream(std::weak_ptr<FakeNetwork::State> network, std::shared_ptr<FakeConnection> connection, bool side_a)
      : network_(std::move(network)), connection_(std::move(connection)), side_a_(side_a) {}

  ~FakeStream() override { close(); }

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer) override {
    return read_on(connection_, side_a_, buffer);
  }

  asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes) override {
    return write_on(network_, connection_, side_a_, bytes);
  }

  core::HostPort peer() const override { return side_a_ ? connection_->b : connection_->a; }

  void close() override {
    FakePipe& out = outgoing();
    FakePipe& in = incoming();
    if (out.writer_closed) return;
    out.writer_closed = true;
    in.reader_closed = true;
    in.readable.clear();
    in.unread = 0;
    in.wake_all();
    out.writable.notify_all();
    if (auto network = network_.lock(); network && !out.reset) {
      network->send_chunk(connection_, side_a_, FakePipe::Chunk{{}, true});
    }
  }

 private:
  FakePipe& outgoing() { return side_a_ ? connection_->a_to_b : connection_->b_to_a; }
  FakePipe& incoming() { return side_a_ ? connection_->b_to_a : connection_->a_to_b; }

  // Writes in pieces that fit the pipe's free space, waiting for the reader
  // in between: a full pipe blocks the writer as a full socket buffer does.
  static asio::awaitable<void> write_on(std::weak_ptr<FakeNetwork::State> weak,
                                        std::shared_ptr<FakeConnection> connection, bool side_a,
                                        std::span<const std::uint8_t> bytes) {
    FakePipe& out = side_a ? connection->a_to_b : connection->b_to_a;
    std::size_t written = 0;
    do {
      if (out.writer_closed) fail(asio::error::operation_aborted);
      if (out.reset) fail(asio::error::connection_reset);
      if (out.reader_closed) fail(asio::error::broken_pipe);
      auto network = weak.lock();
      if (!network) fail(asio::error::connection_reset);
      if (out.unread >= out.capacity) {
        network.reset();  // do not keep the network alive while waiting
        co_await out.writable.wait();
        continue;
      }
      const std::size_t n = std::min(bytes.size() - written, out.capacity - out.unread);
      out.unread += n;
      network->send_chunk(connection, side_a,
                          FakePipe::Chunk{std::string(reinterpret_cast<const char*>(bytes.data() + written), n)});
      written += n;
    } while (written < bytes.size());
  }

  static asio::awaitable<std::size_t> read_on(std::shared_ptr<FakeConnection> connection, bool side_a,
                                              std::span<std::uint8_t> buffer) {
    FakePipe& in = side_a ? connection->b_to_a : connection->a_to_b;
    for (;;) {
      if (in.reader_closed) fail(asio::error::operation_aborted);
      if (in.reset) fail(asio::error::connection_reset);
      if (!in.readable.empty()) {
        const std::size_t n = std::min(buffer.size(), in.readable.size());
        std::copy_n(in.readable.begin(), n, buffer.begin());
        in.readable.erase(in.readable.begin(), in.readable.begin() + static_cast<std::ptrdiff_t>(n));
        in.unread -= std::min(in.unread, n);
        in.writable.notify_all();
        co_return n;
      }
      if (in.fin_received || buffer.empty()) co_return 0;
      co_await in.signal.wait();
    }
  }

  std::weak_ptr<FakeNetwork::State> network_;
  std::shared_ptr<FakeConnection> connection_;
  bool side_a_;
};

// A StreamNetwork endpoint on the FakeNetwork: listens at its address and
// connects from it.
class FakeStreamNetwork final : public StreamNetwork {
 public:
  FakeStreamNetwork(std::weak_ptr<FakeNetwork::State> network, std::shared_ptr<FakeListenerCore> listener)
      : network_(std::move(network)), listener_(std::move(listener)) {}

  ~FakeStreamNetwork() override { close(); }

  asio::awaitable<std::unique_ptr<Stream>> connect(const core::HostPort& to) override {
    return connect_on(network_, listener_, to);
  }

  asio::awaitable<std::unique_ptr<Stream>> accept() override { return accept_on(listener_); }

  core::HostPort local_address() const override { return listener_->address; }

  void close() override {
    if (!listener_->listening) return;
    listener_->listening = false;
    listener_->pending.clear();
    listener_->signal.notify_all();
    if (auto network = network_.lock()) {
      auto it = network->stream_endpoints.find(listener_->address);
      if (it != network->stream_endpoints.end() && it->second.lock() == listener_) {
        network->stream_endpoints.erase(it);
      }
    }
  }

 private:
  static asio::awaitable<std::unique_ptr<Stream>> connect_on(std::weak_ptr<FakeNetwork::State> weak,
                                                             std::shared_ptr<FakeListenerCore> self,
                                                             core::HostPort to) {
    auto network = weak.lock();
    if (!network || self->crashed) fail(asio::error::network_down);
    if (network->blocked(self->address, to)) fail(asio::error::host_unreachable);
    // The handshake takes one network delay.
    if (const auto delay = network->draw_delay(); delay.count() > 0) {
      auto handshake = std::make_shared<Handshake>(network->executor);
      network->schedule_at(network->now() + delay, [handshake] {
        handshake->done = true;
        handshake->signal.notify_all();
      });
      network.reset();  // do not keep the network alive while waiting
      while (!handshake->done) co_await handshake->signal.wait();
      network = weak.lock();
      if (!network || self->crashed) fail(asio::error::network_down);
    }
    auto it = network->stream_endpoints.find(to);
    auto listener = it == network->stream_endpoints.end() ? nullptr : it->second.lock();
    if (!listener || !listener->listening) fail(asio::error::connection_refused);
    if (network->blocked(self->address, to)) fail(asio::error::host_unreachable);
    auto connection =
        std::make_shared<FakeConnection>(network->executor, self->address, to, network->stream_buffer_bytes);
    network->connections.push_back(connection);
    std::erase_if(network->connections, [](const auto& w) { return w.expired(); });
    listener->pending.push_back(std::make_unique<FakeStream>(network, connection, false));
    listener->signal.notify_all();
    co_return std::make_unique<FakeStream>(network, connection, true);
  }

  static asio::awaitable<std::unique_ptr<Stream>> accept_on(std::shared_ptr<FakeListenerCore> listener) {
    while (listener->pending.empty()) {
      if (!listener->listening) fail(asio::error::operation_aborted);
      co_await listener->signal.wait();
    }
    auto stream = std::move(listener->pending.front());
    listener->pending.pop_front();
    co_return stream;
  }

  std::weak_ptr<FakeNetwork::State> network_;
  std::shared_ptr<FakeListenerCore> listener_;
};

}  // namespace

void FakeNetwork::State::send_chunk(const std::shared_ptr<FakeConnection>& connection, bool from_a,
                                    FakePipe::Chunk chunk) {
  FakePipe& pipe = from_a ? connection->a_to_b : connection->b_to_a;
  const core::HostPort& from = from_a ? connection->a : connection->b;
  const core::HostPort& to = from_a ? connection->b : connection->a;
  if (blocked(from, to) || !pipe.held.empty() || pipe.releasing) {
    pipe.held.push_back(std::move(chunk));
    return;
  }
  const FakeTime at = std::max(now() + draw_delay(), pipe.last_delivery);
  pipe.last_delivery = at;
  schedule_at(at, [weak = weak_from_this(), connection, from_a, chunk = std::move(chunk)]() {
    auto self = weak.lock();
    FakePipe& target = from_a ? connection->a_to_b : connection->b_to_a;
    if (!self || target.reset || target.reader_closed) return;
    if (chunk.fin) {
      target.fin_received = true;
    } else {
      target.readable.insert(target.readable.end(), chunk.bytes.begin(), chunk.bytes.end());
      self->stats.stream_bytes_delivered += chunk.bytes.size();
    }
    target.signal.notify_all();
  });
}

void FakeNetwork::State::flush_held() {
  std::erase_if(connections, [](const auto& w) { return w.expired(); });
  for (auto& weak : connections) {
    auto connection = weak.lock();
    for (bool from_a : {true, false}) {
      FakePipe& pipe = from_a ? connection->a_to_b : connection->b_to_a;
      if (pipe.held.empty() || pipe.releasing) continue;
      if (retransmit_backoff.count() <= 0) {
        release_held(connection, from_a);
        continue;
      }
      pipe.releasing = true;
      schedule_at(now() + retransmit_backoff, [weak_self = weak_from_this(), connection, from_a] {
        if (auto self = weak_self.lock()) self->release_held(connection, from_a);
      });
    }
  }
}

void FakeNetwork::State::release_held(const std::shared_ptr<FakeConnection>& connection, bool from_a) {
  FakePipe& pipe = from_a ? connection->a_to_b : connection->b_to_a;
  pipe.releasing = false;
  auto held = std::move(pipe.held);
  pipe.held.clear();
  for (auto& chunk : held) send_chunk(connection, from_a, std::move(chunk));
}

void FakeNetwork::State::reset_connections_of(const core::HostPort& address) {
  for (auto& weak : connections) {
    auto connection = weak.lock();
    if (!connection || (connection->a != address && connection->b != address)) continue;
    for (FakePipe* pipe : {&connection->a_to_b, &connection->b_to_a}) {
      pipe->reset = true;
      pipe->held.clear();
      pipe->readable.clear();
      pipe->unread = 0;
      pipe->wake_all();
    }
  }
}

std::unique_ptr<StreamNetwork> make_fake_stream_network(std::shared_ptr<FakeNetwork::State> state,
                                                        const core::HostPort& address) {
  auto listener = std::make_shared<FakeListenerCore>(state->executor, address);
  state->stream_endpoints[address] = listener;
  return std::make_unique<FakeStreamNetwork>(state, std::move(listener));
}

}  // namespace idunno::net
