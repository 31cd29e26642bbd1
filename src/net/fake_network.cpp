#include "net/fake_network.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "net/fake_network_state.hpp"
#include "net/net_error.hpp"

namespace idunno::net {

bool FakeNetwork::State::chance(double probability) {
  if (probability <= 0.0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < probability;
}

std::chrono::nanoseconds FakeNetwork::State::draw_delay() {
  if (delay_max <= delay_min) return delay_min;
  return std::chrono::nanoseconds(
      std::uniform_int_distribution<std::int64_t>(delay_min.count(), delay_max.count())(rng));
}

void FakeNetwork::State::schedule_at(FakeTime at, std::function<void()> deliver) {
  if (sim_timers) {
    sim_timers->schedule(at, std::move(deliver));
    return;
  }
  queue_.emplace(std::make_pair(at, next_sequence_++), std::move(deliver));
  arm();
}

void FakeNetwork::State::arm() {
  if (queue_.empty()) return;
  const FakeTime earliest = queue_.begin()->first.first;
  if (earliest == armed_for_) return;
  armed_for_ = earliest;
  timer.expires_at(std::chrono::steady_clock::time_point(earliest.time_since_epoch()));  // cancels the wait for a later time, if any
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_timer();
  });
}

void FakeNetwork::State::on_timer() {
  armed_for_ = FakeTime::max();
  const FakeTime now = this->now();
  while (!queue_.empty() && queue_.begin()->first.first <= now) {
    auto node = queue_.extract(queue_.begin());
    node.mapped()();
  }
  arm();
}

FakeNetwork::FakeNetwork(boost::asio::any_io_executor executor, std::uint64_t seed)
    : state_(std::make_shared<State>(std::move(executor), seed)) {}

FakeNetwork::FakeNetwork(boost::asio::any_io_executor executor, std::uint64_t seed, const core::Clock& clock,
                         core::TimerQueue& timers)
    : state_(std::make_shared<State>(std::move(executor), seed)) {
  state_->clock = &clock;
  state_->sim_timers = &timers;
}

FakeNetwork::~FakeNetwork() {
  // Endpoints that outlive the network behave as closed.
  for (auto& [address, weak] : state_->datagram_endpoints) {
    if (auto core = weak.lock()) {
      core->closed = true;
      core->signal.notify_all();
    }
  }
  for (auto& [address, weak] : state_->stream_endpoints) {
    if (auto listener = weak.lock()) {
      listener->listening = false;
      listener->signal.notify_all();
    }
  }
  for (auto& weak : state_->connections) {
    if (auto connection = weak.lock()) {
      for (FakePipe* pipe : {&connection->a_to_b, &connection->b_to_a}) {
        pipe->reset = true;
        pipe->wake_all();
      }
    }
  }
}

std::unique_ptr<DatagramTransport> FakeNetwork::datagram(const core::HostPort& address) {
  if (auto existing = state_->datagram_endpoints[address].lock(); existing && !existing->closed) {
    throw NetError("cannot bind fake UDP " + address.to_string() + ": address in use");
  }
  return make_fake_datagram(state_, address);
}

std::unique_ptr<StreamNetwork> FakeNetwork::stream(const core::HostPort& address) {
  if (auto existing = state_->stream_endpoints[address].lock(); existing && existing->listening) {
    throw NetError("cannot listen on fake TCP " + address.to_string() + ": address in use");
  }
  return make_fake_stream_network(state_, address);
}

void FakeNetwork::set_loss(double probability) { state_->loss = std::clamp(probability, 0.0, 1.0); }

void FakeNetwork::set_delay(core::Duration min, core::Duration max) {
  if (min.count() < 0 || max < min) throw std::invalid_argument("fake network delay needs 0 <= min <= max");
  state_->delay_min = min;
  state_->delay_max = max;
}

void FakeNetwork::set_duplicate(double probability) { state_->duplicate = std::clamp(probability, 0.0, 1.0); }

void FakeNetwork::set_stream_buffer(std::size_t bytes) { state_->stream_buffer_bytes = std::max<std::size_t>(bytes, 1); }

void FakeNetwork::set_retransmit_backoff(core::Duration backoff) {
  if (backoff.count() < 0) throw std::invalid_argument("fake network retransmit backoff must not be negative");
  state_->retransmit_backoff = backoff;
}

void FakeNetwork::partition(const std::vector<core::HostPort>& side_a, const std::vector<core::HostPort>& side_b) {
  for (const auto& a : side_a) {
    for (const auto& b : side_b) {
      if (a == b) continue;
      state_->cut.insert({a, b});
      state_->cut.insert({b, a});
    }
  }
  spdlog::debug("event=fake_partition side_a={} side_b={}", side_a.size(), side_b.size());
}

void FakeNetwork::heal() {
  state_->cut.clear();
  state_->flush_held();
  spdlog::debug("event=fake_heal");
}

bool FakeNetwork::blocked(const core::HostPort& from, const core::HostPort& to) const {
  return state_->blocked(from, to);
}

void FakeNetwork::crash(const core::HostPort& address) {
  if (auto it = state_->datagram_endpoints.find(address); it != state_->datagram_endpoints.end()) {
    if (auto core = it->second.lock()) {
      core->closed = true;
      core->inbox.clear();
      core->signal.notify_all();
    }
    state_->datagram_endpoints.erase(it);
  }
  if (auto it = state_->stream_endpoints.find(address); it != state_->stream_endpoints.end()) {
    if (auto listener = it->second.lock()) {
      listener->crashed = true;
      listener->listening = false;
      listener->pending.clear();
      listener->signal.notify_all();
    }
    state_->stream_endpoints.erase(it);
  }
  state_->reset_connections_of(address);
  spdlog::debug("event=fake_crash addr={}", address.to_string());
}

const FakeNetworkStats& FakeNetwork::stats() const { return state_->stats; }

}  // namespace idunno::net
