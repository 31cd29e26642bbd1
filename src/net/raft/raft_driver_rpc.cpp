// RaftDriver: the RPC side. Outgoing messages are batched per peer after
// each flush and sent as one "raft.messages" call each (a bounded number in
// flight per peer; Raft tolerates what is dropped). Incoming batches are
// checked, then stepped into the core.

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

#include "core/raft/codec.hpp"
#include "core/timeout.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/raft/raft_wire.pb.h"
#include "net/raft/wire_codec.hpp"
#include "net/rpc_error.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxInFlightPerPeer = 32;  // per lane

asio::awaitable<std::string> ready_value(std::string value) { co_return value; }
}  // namespace

void RaftDriver::register_methods(RpcServer& server) {
  server.handle("raft.messages", [this, alive = alive_](const RpcContext&, std::string request) {
    if (!*alive) throw RpcError("raft is stopped");
    return handle_messages(std::move(request));
  });
  server.handle("raft.propose", [this, alive = alive_](const RpcContext&, std::string request) {
    if (!*alive) throw RpcError("raft is stopped");
    return handle_propose(std::move(request));
  });
  server.handle("raft.read", [this, alive = alive_](const RpcContext&, std::string request) {
    if (!*alive) throw RpcError("raft is stopped");
    return handle_read(std::move(request));
  });
  server.handle("raft.status", [this, alive = alive_](const RpcContext&, std::string) {
    if (!*alive) throw RpcError("raft is stopped");
    return ready_value(handle_status());
  });
}

void RaftDriver::send(std::vector<raft::Message> messages) {
  // Per peer and lane (core/raft/lanes.hpp): while a lane to a peer is
  // stalled, its AppendEntries also go on the other lane as bare heartbeats.
  const auto now = std::chrono::steady_clock::now();
  std::map<std::pair<std::string, raft::Lane>, raftwire::Batch> batches;
  for (auto& message : messages) {
    const raft::Lane lane = raft::lane_of(message.payload);
    auto& calls = peers_[message.to].lane(lane);
    if (calls.stalled(now, options_.raft.heartbeat) && now - calls.last_bare >= options_.raft.heartbeat) {
      if (auto bare = raft::bare_heartbeat(message.payload)) {
        calls.last_bare = now;
        to_wire(*bare, batches[{message.to, raft::other_lane(lane)}].add_messages());
      }
    }
    to_wire(message.payload, batches[{message.to, lane}].add_messages());
  }
  for (auto& [key, batch] : batches) {
    const auto& [to, lane] = key;
    auto address = address_of(to);
    if (!address) {
      spdlog::debug("event=raft_no_address peer={}", to);
      continue;
    }
    auto& calls = peers_[to].lane(lane);
    if (calls.in_flight.size() >= kMaxInFlightPerPeer) continue;  // it is not keeping up; Raft resends
    batch.set_from(options_.name);
    batch.set_from_address(options_.advertise.to_string());
    batch.set_to(to);
    const std::uint64_t id = next_call_id_++;
    calls.in_flight.emplace(id, now);
    tasks_.spawn(send_batch(to, *address, batch.SerializeAsString(), lane, id), "raft send");
  }
}

asio::awaitable<void> RaftDriver::send_batch(std::string to, core::HostPort address, std::string bytes,
                                             raft::Lane lane, std::uint64_t id) {
  RpcClient& client = lane == raft::Lane::control && options_.control_client ? *options_.control_client : client_;
  try {
    co_await client.call(address, "raft.messages", std::move(bytes), options_.message_deadline, core_->term());
    if (!peers_[to].reachable) {
      spdlog::info("event=raft_peer_reachable peer={} addr={}", to, address.to_string());
      if (peer_heard_observer_) peer_heard_observer_(to, address);
    }
    peers_[to].reachable = true;
  } catch (const RpcError& e) {
    if (peers_[to].reachable) {
      spdlog::info("event=raft_peer_unreachable peer={} addr={} error=\"{}\"", to, address.to_string(), e.what());
    }
    peers_[to].reachable = false;
  }
  peers_[to].lane(lane).in_flight.erase(id);
}

asio::awaitable<std::string> RaftDriver::handle_messages(std::string request) {
  raftwire::Batch batch;
  if (!batch.ParseFromString(request)) throw RpcError("raft.messages: not a valid batch");
  if (batch.to() != options_.name) {
    throw RpcError("raft.messages for " + batch.to() + " reached " + options_.name);
  }
  if (batch.from().empty() || batch.from() == options_.name) throw RpcError("raft.messages: bad sender");
  if (stopping_) co_return std::string();
  if (auto address = core::parse_host_port(batch.from_address())) {
    learned_addresses_[batch.from()] = *address;
    // A connection attempt to it begun during a cut is not worth waiting for.
    client_.peer_heard(*address);
    if (options_.control_client) options_.control_client->peer_heard(*address);
    if (peer_heard_observer_) peer_heard_observer_(batch.from(), *address);
  }
  for (const auto& envelope : batch.messages()) {
    std::string why;
    auto payload = from_wire(envelope, &why);
    if (!payload) {
      spdlog::warn("event=raft_bad_message from={} reason=\"{}\"", batch.from(), why);
      continue;
    }
    try {
      core_->step(raft::Message{batch.from(), options_.name, std::move(*payload)});
    } catch (const raft::DecodeError& e) {
      // A snapshot the state machine cannot read: drop it.
      spdlog::warn("event=raft_bad_message from={} reason=\"{}\"", batch.from(), e.what());
    }
  }
  schedule_flush();
  co_return std::string();
}

asio::awaitable<std::string> RaftDriver::handle_propose(std::string request) {
  raftwire::ProposeRequest propose_request;
  if (!propose_request.ParseFromString(request)) throw RpcError("raft.propose: not a valid request");
  raftwire::ProposeReply reply;
  try {
    reply.set_result(co_await propose_entry(propose_request.command()));
    reply.set_ok(true);
  } catch (const CommandTooLarge& e) {
    reply.set_too_large(true);
    reply.set_error(e.what());
  } catch (const NotLeader& e) {
    reply.set_outcome_unknown(e.outcome_unknown());
    reply.set_error(e.what());
    if (e.leader()) {
      reply.set_leader_name(e.leader()->name);
      reply.set_leader_address(e.leader()->address.to_string());
    }
  } catch (const core::TimeoutError&) {
    reply.set_outcome_unknown(true);
    reply.set_error("the coordinator did not commit the command in time");
  }
  co_return reply.SerializeAsString();
}

std::string RaftDriver::handle_status() const {
  raftwire::StatusReply reply;
  reply.set_name(options_.name);
  reply.set_term(core_->term());
  reply.set_has_state(core_->term() > 0 || core_->last_index() > 0);
  if (auto l = leader()) {
    reply.set_leader_name(l->name);
    reply.set_leader_address(l->address.to_string());
  }
  to_wire(core_->configuration().voters.empty() ? discovered_config_ : core_->configuration(),
          reply.mutable_config());
  return reply.SerializeAsString();
}

}  // namespace idunno::net
