#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "net/fake_network_state.hpp"

namespace idunno::net {

namespace {

// A DatagramTransport on the FakeNetwork: sends go through the network's
// fault injection, receives read this endpoint's inbox.
class FakeDatagramTransport final : public DatagramTransport {
 public:
  FakeDatagramTransport(std::weak_ptr<FakeNetwork::State> network, std::shared_ptr<FakeDatagramCore> core)
      : network_(std::move(network)), core_(std::move(core)) {}

  ~FakeDatagramTransport() override { close(); }

  void send(const core::HostPort& to, std::string payload) override {
    if (core_->closed) return;
    if (auto network = network_.lock()) network->send_datagram(core_->address, to, std::move(payload));
  }

  boost::asio::awaitable<Datagram> receive() override { return receive_on(core_); }

  core::HostPort local_address() const override { return core_->address; }

  void close() override {
    if (core_->closed) return;
    core_->closed = true;
    core_->signal.notify_all();
    if (auto network = network_.lock()) {
      auto it = network->datagram_endpoints.find(core_->address);
      if (it != network->datagram_endpoints.end() && it->second.lock() == core_) {
        network->datagram_endpoints.erase(it);
      }
    }
  }

 private:
  static boost::asio::awaitable<Datagram> receive_on(std::shared_ptr<FakeDatagramCore> core) {
    while (core->inbox.empty()) {
      if (core->closed) throw boost::system::system_error(boost::asio::error::operation_aborted);
      co_await core->signal.wait();
    }
    Datagram datagram = std::move(core->inbox.front());
    core->inbox.pop_front();
    co_return datagram;
  }

  std::weak_ptr<FakeNetwork::State> network_;
  std::shared_ptr<FakeDatagramCore> core_;
};

}  // namespace

void FakeNetwork::State::send_datagram(const core::HostPort& from, const core::HostPort& to, std::string payload) {
  ++stats.datagrams_sent;
  if (blocked(from, to)) {
    ++stats.datagrams_blocked;
    return;
  }
  if (chance(loss)) {
    ++stats.datagrams_dropped;
    return;
  }
  const int copies = chance(duplicate) ? 2 : 1;
  if (copies == 2) ++stats.datagrams_duplicated;
  const FakeTime now = this->now();
  for (int i = 0; i < copies; ++i) {
    const FakeTime at = now + draw_delay();
    schedule_at(at, [weak = weak_from_this(), from, to, payload]() {
      auto self = weak.lock();
      if (!self) return;
      auto it = self->datagram_endpoints.find(to);
      auto core = it == self->datagram_endpoints.end() ? nullptr : it->second.lock();
      if (!core || core->closed || self->blocked(from, to)) {
        ++self->stats.datagrams_blocked;
        return;
      }
      if (core->inbox.size() >= FakeDatagramCore::max_inbox) {
        ++self->stats.datagrams_overflowed;
        return;
      }
      core->inbox.push_back(Datagram{from, payload});
      ++self->stats.datagrams_delivered;
      core->signal.notify_all();
    });
  }
}

std::unique_ptr<DatagramTransport> make_fake_datagram(std::shared_ptr<FakeNetwork::State> state,
                                                      const core::HostPort& address) {
  auto core = std::make_shared<FakeDatagramCore>(state->executor, address);
  state->datagram_endpoints[address] = core;
  return std::make_unique<FakeDatagramTransport>(state, std::move(core));
}

}  // namespace idunno::net
