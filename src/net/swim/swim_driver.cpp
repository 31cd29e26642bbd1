#include "net/swim/swim_driver.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/rpc_error.hpp"
#include "net/swim/bytes.hpp"

namespace idunno::swim {

namespace asio = boost::asio;

namespace {

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

const char* kind_name(StreamKind kind) {
  switch (kind) {
    case StreamKind::ping: return "fallback_ping";
    case StreamKind::push_pull: return "push_pull";
    case StreamKind::join: return "join";
  }
  return "stream";
}

asio::steady_timer::time_point to_timer(core::TimePoint t) {
  return asio::steady_timer::time_point(
      std::chrono::duration_cast<asio::steady_timer::duration>(t.time_since_epoch()));
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
  // A plain lambda returning the member coroutine: the coroutine frame holds
  // `this` and the request by value, nothing of the lambda.
  server.handle(swim_stream_method,
                [this](const net::RpcContext&, std::string request) { return handle_stream(std::move(request)); });
}

SwimDriver::~SwimDriver() = default;

void SwimDriver::start(std::vector<core::HostPort> seeds) {
  seeds_ = std::move(seeds);
  spdlog::info("event=member_self member={} seeds={} secret={}", core_.self().id.to_string(), seeds_.size(),
               core_.config().secret.empty() ? "no" : "yes");
  tasks_.spawn(receive_loop(), "swim_receive");
  tasks_.spawn(timer_loop(), "swim_timer");
  join();
}

void SwimDriver::join() {
  if (core_.leaving()) spdlog::info("event=member_rejoin member={}", core_.self().id.to_string());
  core_.join(clock_.now(), seeds_);
  drain();
}

void SwimDriver::join(std::vector<core::HostPort> seeds) {
  seeds_ = std::move(seeds);
  join();
}

void SwimDriver::contact(const core::HostPort& addr) {
  if (stopped_) return;
  if (core_.contact(clock_.now(), addr)) {
    spdlog::info("event=member_contact addr={} reason=\"heard from directly while not an active member\"",
                 addr.to_string());
    drain();
  }
}

asio::awaitable<void> SwimDriver::leave(std::chrono::milliseconds linger) {
  spdlog::info("event=member_leaving member={}", core_.self().id.to_string());
  core_.leave(clock_.now());
  drain();
  if (linger.count() <= 0) co_return;
  asio::steady_timer wait(executor_, linger);
  boost::system::error_code ec;
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> SwimDriver::stop() {
  if (stopped_) co_return;
  stopped_ = true;
  tasks_.close();
  timer_.cancel();
  udp_.close();
  co_await tasks_.shutdown(std::chrono::milliseconds(500));
}

asio::awaitable<std::string> SwimDriver::handle_stream(std::string request) {
  auto reply = core_.on_stream_request(clock_.now(), as_bytes(request));
  drain();
  if (!reply) throw net::RpcError("membership stream request refused (not for this member, or not authentic)");
  co_return std::move(*reply);
}

asio::awaitable<void> SwimDriver::receive_loop() {
  for (;;) {
    net::Datagram datagram = co_await udp_.receive();
    core_.on_packet(clock_.now(), datagram.from, as_bytes(datagram.payload));
    drain();
  }
}

asio::awaitable<void> SwimDriver::timer_loop() {
  for (;;) {
    const auto deadline = core_.next_deadline();
    timer_.expires_at(deadline ? to_timer(*deadline) : asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // A cancelled wait means "re-arm" (drain() moved the deadline) unless
    // the loop itself is being cancelled.
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none || stopped_) co_return;
    const auto now = clock_.now();
    const auto due = core_.next_deadline();
    if (due && *due <= now) {
      core_.tick(now);
      drain();
    }
  }
}

asio::awaitable<void> SwimDriver::run_stream(StreamRequest request) {
  const auto timeout = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(request.timeout),
                                std::chrono::milliseconds(1));
  std::string reply;
  bool ok = false;
  try {
    reply = co_await client_.call(request.to, swim_stream_method, std::move(request.payload), timeout);
    ok = true;
  } catch (const net::RpcError& e) {
    spdlog::debug("event=swim_stream_failed to={} kind={} error=\"{}\"", request.to.to_string(),
                  kind_name(request.kind), e.what());
  }
  if (stopped_) co_return;
  if (ok) {
    core_.on_stream_reply(clock_.now(), request.id, as_bytes(reply));
  } else {
    core_.on_stream_failed(clock_.now(), request.id);
  }
  drain();
}

void SwimDriver::publish(const MemberEvent& event) {
  spdlog::info("event={} member={} incarnation={} state={} by={}", event_name(event.kind),
               event.member.id.to_string(), event.member.incarnation, to_string(event.member.state),
               core_.self().id.name);
  for (const auto& subscriber : subscribers_) {
    try {
      subscriber(event);
    } catch (const std::exception& e) {
      spdlog::warn("event=member_subscriber_failed member={} error=\"{}\"", event.member.id.to_string(), e.what());
    }
  }
}

void SwimDriver::drain() {
  Output output = core_.take_output();
  for (auto& packet : output.packets) udp_.send(packet.to, std::move(packet.bytes));
  for (auto& stream : output.streams) {
    const auto id = stream.id;
    // Refused once stopping: the core is told the exchange failed.
    if (!tasks_.spawn(run_stream(std::move(stream)), "swim_stream")) core_.on_stream_failed(clock_.now(), id);
  }
  for (const auto& event : output.events) publish(event);
  // The next deadline may have moved earlier: wake the timer loop to re-arm.
  timer_.cancel();
}

}  // namespace idunno::swim
