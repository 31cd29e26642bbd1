#include "net/rpc_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "core/timeout.hpp"
#include "net/keep_alive.hpp"
#include "net/rpc_client_impl.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {

// How long stop() waits for connection coroutines before cancelling them.
constexpr std::chrono::milliseconds stop_grace{500};
// A connection attempt pending longer than this when the peer is heard
// from is abandoned (peer_heard): far above a LAN round trip.
constexpr std::chrono::milliseconds stale_connect{50};

RpcReply interpret_reply(RpcFrame reply, const core::HostPort& to, const std::string& method) {
  switch (static_cast<RpcStatus>(reply.status())) {
    case RpcStatus::ok:
      return RpcReply{std::move(*reply.mutable_payload()), reply.term()};
    case RpcStatus::error:
      throw RpcError(RpcErrorCode::remote, method + " on " + to.to_string() + " failed: " + reply.error());
    case RpcStatus::unknown_method:
      throw RpcError(RpcErrorCode::remote, to.to_string() + " does not serve " + method);
    case RpcStatus::stale_term:
      throw RpcError(RpcErrorCode::stale_term,
                     method + " on " + to.to_string() + " refused: " + reply.error(), reply.term());
  }
  throw RpcError(RpcErrorCode::protocol,
                 to.to_string() + " answered " + method + " with unknown status " + std::to_string(reply.status()));
}

asio::awaitable<RpcReply> attempt(std::shared_ptr<RpcClient::Impl> impl, core::HostPort to, std::string method,
                                  std::string request, std::chrono::milliseconds deadline, std::uint64_t term) {
  const auto deadline_at = std::chrono::steady_clock::now() + deadline;
  auto connection = impl->connection_to(to);
  co_await core::with_timeout(connection->wait_open(), deadline);
  RpcFrame frame;
  frame.set_method(method);
  frame.set_payload(std::move(request));
  frame.set_term(term);
  frame.set_deadline_ms(static_cast<std::uint32_t>(std::min<std::int64_t>(deadline.count(), UINT32_MAX)));
  RpcFrame reply = co_await connection->call(std::move(frame), deadline_at);
  if (reply.term() > 0 && impl->term_observer) impl->term_observer(reply.term());
  co_return interpret_reply(std::move(reply), to, method);
}

asio::awaitable<RpcReply> call_on(std::shared_ptr<RpcClient::Impl> impl, core::HostPort to, std::string method,
                                  std::string request, std::chrono::milliseconds deadline, std::uint64_t term) {
  if (impl->stopped) throw RpcError(RpcErrorCode::stopped, "rpc client is stopped; " + method + " not sent");
  if (deadline.count() <= 0) {
    throw RpcError(RpcErrorCode::timeout, "call " + method + " to " + to.to_string() + " has no time left");
  }
  try {
    // Every wait inside is bounded by the deadline (connect, queue room,
    // reply).
    co_return co_await attempt(impl, to, method, std::move(request), deadline, term);
  } catch (const core::TimeoutError&) {
    throw RpcError(RpcErrorCode::timeout, "call " + method + " to " + to.to_string() + " timed out after " +
                                              std::to_string(deadline.count()) + " ms");
  }
}

asio::awaitable<std::string> payload_only(asio::awaitable<RpcReply> reply) {
  RpcReply value = co_await std::move(reply);
  co_return std::move(value.payload);
}

}  // namespace

std::shared_ptr<ClientConnection> RpcClient::Impl::connection_to(const core::HostPort& to) {
  auto it = pool.find(to);
  if (it != pool.end() && it->second->state() != ClientConnection::State::failed) return it->second;
  auto connection = std::make_shared<ClientConnection>(executor, to, limits);
  pool[to] = connection;
  auto on_end = [weak_impl = weak_from_this(), weak = std::weak_ptr<ClientConnection>(connection), to]() {
    auto self = weak_impl.lock();
    if (!self) return;
    auto found = self->pool.find(to);
    if (found != self->pool.end() && found->second == weak.lock()) self->pool.erase(found);
  };
  if (!tasks.spawn(keep_alive(connection, connection->run(&network, std::move(on_end))), "rpc_connection")) {
    connection->fail(RpcErrorCode::stopped, "rpc client is stopped");
  }
  return connection;
}

RpcClient::RpcClient(asio::any_io_executor executor, StreamNetwork& network, core::RpcSection limits)
    : impl_(std::make_shared<Impl>(std::move(executor), network, limits)) {}

RpcClient::~RpcClient() {
  impl_->stopped = true;
  for (auto& [peer, connection] : impl_->pool) connection->fail(RpcErrorCode::stopped, "rpc client is stopped");
  impl_->tasks.cancel(asio::cancellation_type::terminal);
}

asio::awaitable<std::string> RpcClient::call(const core::HostPort& to, std::string method, std::string request,
                                             std::chrono::milliseconds deadline, std::uint64_t term) {
  // Not a coroutine itself: call_on copies `to` before the caller resumes.
  return payload_only(call_on(impl_, to, std::move(method), std::move(request), deadline, term));
}

asio::awaitable<RpcReply> RpcClient::call_with_term(const core::HostPort& to, std::string method,
                                                    std::string request, std::chrono::milliseconds deadline,
                                                    std::uint64_t term) {
  return call_on(impl_, to, std::move(method), std::move(request), deadline, term);
}

void RpcClient::set_term_observer(std::function<void(std::uint64_t)> observer) {
  impl_->term_observer = std::move(observer);
}

asio::awaitable<void> RpcClient::stop() {
  auto impl = impl_;
  impl->stopped = true;
  auto pool = impl->pool;
  for (auto& [peer, connection] : pool) connection->fail(RpcErrorCode::stopped, "rpc client is stopped");
  co_await impl->tasks.shutdown(stop_grace);
  impl->pool.clear();
}

void RpcClient::peer_heard(const core::HostPort& peer) {
  auto it = impl_->pool.find(peer);
  if (it == impl_->pool.end()) return;
  auto& connection = it->second;
  if (connection->state() != ClientConnection::State::connecting) return;
  const auto pending = std::chrono::steady_clock::now() - connection->created_at();
  if (pending < stale_connect) return;
  spdlog::info("event=rpc_connect_abandoned peer={} pending_ms={} reason=\"the peer is reachable again\"",
               peer.to_string(), std::chrono::duration_cast<std::chrono::milliseconds>(pending).count());
  connection->fail(RpcErrorCode::unreachable,
                   "connection attempt to " + peer.to_string() + " abandoned: the peer is reachable again");
  impl_->pool.erase(it);
}

std::size_t RpcClient::connection_count() const { return impl_->pool.size(); }

std::size_t RpcClient::queued_bytes() const {
  std::size_t total = 0;
  for (const auto& [peer, connection] : impl_->pool) total += connection->queued_bytes();
  return total;
}

}  // namespace idunno::net
