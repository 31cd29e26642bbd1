// RaftDriver: linearizable reads without a log write (ReadIndex, Raft
// thesis 6.4). The leader asks the core for a read index, which the core
// confirms by a heartbeat round to a majority; the read then waits until
// the state released here (applied and durable) reaches that index, and
// runs the machine's query. Other nodes forward the read to the leader
// ("raft.read"), retrying through elections like submit().

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/timeout.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/raft/raft_wire.pb.h"
#include "net/rpc.hpp"

namespace idunno::net {

namespace asio = boost::asio;

// One read waiting for its round and then for the state; the timer is the
// wake-up signal, cancelled when the read can run or has failed.
struct RaftDriver::PendingRead {
  explicit PendingRead(asio::any_io_executor executor) : timer(executor) {}
  asio::steady_timer timer;
  bool ready = false;  // the state reached the read index: query now
  bool failed = false;

  void wake() { timer.cancel(); }
};

asio::awaitable<std::string> RaftDriver::read_here(std::string machine, std::string query) {
  if (stopping_) throw NotLeader(leader(), false);
  const raft::ReadId id = ++next_read_;
  if (!core_->read_index(id)) throw NotLeader(leader(), false);
  auto pending = std::make_shared<PendingRead>(executor_);
  reads_[id] = pending;
  schedule_flush();
  const auto deadline = std::chrono::steady_clock::now() + options_.propose_timeout;
  std::optional<std::string> result;
  while (true) {
    pending->timer.expires_at(deadline);
    auto [ec] = co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (pending->failed) throw NotLeader(leader(), false);
    if (!pending->ready) {
      reads_.erase(id);
      std::erase_if(reads_waiting_apply_, [&](const auto& item) { return item.second == pending; });
      if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
      throw core::TimeoutError();
    }
    if (result) break;
    // The live state may hold entries applied but not yet durable here (and
    // so not yet released): answer from it, but only once they are.
    result = router_.query_machine(machine, query);
    const auto need = core_->applied_index();
    if (need <= released_applied_) break;
    pending->ready = false;
    reads_waiting_apply_.emplace(need, pending);
    schedule_flush();
  }
  co_return std::move(*result);
}

void RaftDriver::resolve_reads(const raft::Ready& ready) {
  released_applied_ = std::max(released_applied_, ready.applied_index);
  for (const auto& state : ready.reads) {
    auto it = reads_.find(state.id);
    if (it == reads_.end()) continue;
    auto pending = it->second;
    reads_.erase(it);
    if (!state.ok) {
      pending->failed = true;
      pending->wake();
    } else {
      reads_waiting_apply_.emplace(state.index, pending);
    }
  }
  while (!reads_waiting_apply_.empty() && reads_waiting_apply_.begin()->first <= released_applied_) {
    auto pending = reads_waiting_apply_.begin()->second;
    reads_waiting_apply_.erase(reads_waiting_apply_.begin());
    pending->ready = true;
    pending->wake();
  }
}

void RaftDriver::fail_reads() {
  for (auto& [id, pending] : std::exchange(reads_, {})) {
    pending->failed = true;
    pending->wake();
  }
  for (auto& [index, pending] : std::exchange(reads_waiting_apply_, {})) {
    pending->failed = true;
    pending->wake();
  }
}

asio::awaitable<RaftDriver::Forwarded> RaftDriver::forward_read(LeaderInfo target, std::string machine,
                                                                std::string query, std::chrono::milliseconds left) {
  raftwire::ReadRequest request;
  request.set_machine(machine);
  request.set_query(query);
  auto reply =
      co_await call_typed<raftwire::ReadReply>(client_, target.address, "raft.read", request, left, core_->term());
  if (reply.ok()) co_return Forwarded{std::move(*reply.mutable_result()), std::nullopt};
  if (reply.unknown_machine()) throw raft::UnknownMachine(reply.error());
  co_return Forwarded{std::nullopt, leader_hint(reply.leader_name(), reply.leader_address())};
}

asio::awaitable<std::string> RaftDriver::read(std::string machine, std::string query,
                                              std::chrono::milliseconds timeout) {
  // A coroutine (not a plain call) so that machine and query live as long
  // as the callbacks that refer to them.
  co_return co_await on_leader(
      std::chrono::steady_clock::now() + timeout, [this, &machine, &query] { return read_here(machine, query); },
      [this, &machine, &query](const LeaderInfo& target, std::chrono::milliseconds left) {
        return forward_read(target, machine, query, left);
      },
      "raft_read_forward_failed");
}

asio::awaitable<std::string> RaftDriver::handle_read(std::string request) {
  raftwire::ReadRequest read_request;
  if (!read_request.ParseFromString(request)) throw RpcError("raft.read: not a valid request");
  raftwire::ReadReply reply;
  try {
    reply.set_result(co_await read_here(read_request.machine(), read_request.query()));
    reply.set_ok(true);
  } catch (const raft::UnknownMachine& e) {
    reply.set_unknown_machine(true);
    reply.set_error(e.what());
  } catch (const NotLeader& e) {
    reply.set_error(e.what());
    if (e.leader()) {
      reply.set_leader_name(e.leader()->name);
      reply.set_leader_address(e.leader()->address.to_string());
    }
  } catch (const core::TimeoutError&) {
    reply.set_error("the coordinator did not confirm the read in time");
  }
  co_return reply.SerializeAsString();
}

}  // namespace idunno::net
