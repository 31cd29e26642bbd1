#include "net/swim/swim_driver.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/rpc_error.hpp"

namespace idunno::swim {

namespace asio = boost::asio;

namespace {
constexpr const char* kStreamMethod = "swim.stream";

const char* event_name(EventKind kind) {
  switch (kind) {
    case EventKind::joined: return "member_joined";
    case EventKind::suspect: return "member_suspect";
    case EventKind::alive: return "member_refuted";
    case EventKind::dead: return "member_dead";
    case EventKind::left: return "member_left";
  }
  return "member_event";
}
}  // namespace

SwimDriver::SwimDriver(asio::any_io_executor executor, net::DatagramTransport& udp, net::RpcServer& server,
                       net::RpcClient& client, SwimConfig config, MemberId self, std::uint64_t seed)
    : executor_(executor),
      udp_(udp),
      client_(client),
      core_(std::move(config), std::move(self), seed, clock_.now()),
      timer_(executor),
      tasks_(executor, "swim") {
  server.handle(kStreamMethod, [this](const net::RpcContext&, std::string request) -> asio::awaitable<std::string> {
    const auto bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(request.data()),
                                                     request.size());
    auto reply = core_.on_stream_request(clock_.now(), bytes);
    drain();
    if (!reply) throw net::RpcError("membership stream request refused");
    co_return std::move(*reply);
  });
}

SwimDriver::~SwimDriver() = default;

void SwimDriver::start(std::vector<core::HostPort> seeds) {
  seeds_ = std::move(seeds);
  const auto self = core_.self();
  spdlog::info("event=member_self member={} seeds={}", self.id.to_string(), seeds_.size());
  tasks_.spawn(receive_loop(), "swim_receive");
  tasks_.spawn(timer_loop(), "swim_timer");
  join();
}

void SwimDriver::join() {
  if (!seeds_.empty()) core_.join(clock_.now(), seeds_);
  drain();
}

asio::awaitable<void> SwimDriver::leave(std::chrono::milliseconds linger) {
  spdlog::info("event=member_leaving member={}", core_.self().id.to_string());
  core_.leave(clock_.now());
  drain();
  asio::steady_timer wait(executor_, linger);
  boost::system::error_code ec;
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> SwimDriver::stop() {
  timer_.cancel();
  udp_.close();
  co_await tasks_.shutdown(std::chrono::milliseconds(500));
}

asio::awaitable<void> SwimDriver::receive_loop() {
  for (;;) {
    net::Datagram datagram = co_await udp_.receive();
    const auto bytes = std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(datagram.payload.data()), datagram.payload.size());
    core_.on_packet(clock_.now(), datagram.from, bytes);
    drain();
  }
}

asio::awaitable<void> SwimDriver::timer_loop() {
  for (;;) {
    const auto deadline = core_.next_deadline();
    timer_.expires_at(deadline ? asio::steady_timer::time_point(
                                     std::chrono::duration_cast<asio::steady_timer::duration>(
                                         deadline->time_since_epoch()))
                               : asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // A cancelled wait means "re-arm" (drain() moved the deadline) unless the
    // whole loop is being cancelled, which the next wait notices.
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
    const auto now = clock_.now();
    const auto due = core_.next_deadline();
    if (due && *due <= now) {
      core_.tick(now);
      drain();
    }
  }
}

asio::awaitable<void> SwimDriver::run_stream(StreamRequest request) {
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(request.timeout);
  std::string reply;
  bool ok = false;
  try {
    reply = co_await client_.call(request.to, kStreamMethod, std::move(request.payload),
                                  std::max(timeout, std::chrono::milliseconds(1)));
    ok = true;
  } catch (const net::RpcError& e) {
    spdlog::debug("event=swim_stream_failed to={} kind={} error={}", request.to.to_string(),
                  static_cast<int>(request.kind), e.what());
  }
  if (ok) {
    const auto bytes =
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size());
    core_.on_stream_reply(clock_.now(), request.id, bytes);
  } else {
    core_.on_stream_failed(clock_.now(), request.id);
  }
  drain();
}

void SwimDriver::drain() {
  Output output = core_.take_output();
  for (auto& packet : output.packets) udp_.send(packet.to, std::move(packet.bytes));
  for (auto& stream : output.streams) tasks_.spawn(run_stream(std::move(stream)), "swim_stream");
  for (const auto& event : output.events) {
    spdlog::info("event={} member={} incarnation={} state={}", event_name(event.kind),
                 event.member.id.to_string(), event.member.incarnation, to_string(event.member.state));
    for (const auto& subscriber : subscribers_) subscriber(event);
  }
  // The next deadline may have moved earlier: wake the timer loop to re-arm.
  timer_.cancel();
}

}  // namespace idunno::swim
