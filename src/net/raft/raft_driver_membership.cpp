// RaftDriver: membership. Addresses come from membership's live view, then
// from what peers said about themselves, then from the configuration's
// hints. A node that is not a member learns the leader and the voter set by
// asking live members ("raft.status"); a fresh cluster is bootstrapped by
// one node once no live member reports Raft state.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/raft/raft_driver.hpp"
#include "net/raft/raft_wire.pb.h"
#include "net/raft/wire_codec.hpp"
#include "net/rpc.hpp"

namespace idunno::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void RaftDriver::on_members_changed(const std::vector<LiveNode>& live) {
  std::map<std::string, core::HostPort> addresses;
  raft::LiveMembers members;
  for (const auto& node : live) {
    addresses[node.name] = node.address;
    members.emplace(node.name, node.address.to_string());
  }
  if (addresses != live_addresses_) members_changed_at_ = std::chrono::steady_clock::now();
  live_addresses_ = std::move(addresses);
  if (stopping_) return;
  core_->set_live_members(std::move(members));
  schedule_flush();
}

std::optional<core::HostPort> RaftDriver::address_of(const std::string& name) const {
  if (name == options_.name) return options_.advertise;
  if (auto it = live_addresses_.find(name); it != live_addresses_.end()) return it->second;
  if (auto it = learned_addresses_.find(name); it != learned_addresses_.end()) return it->second;
  const auto& config = core_->configuration();
  for (const auto* members : {&config.voters, &config.learners}) {
    if (auto it = members->find(name); it != members->end()) return core::parse_host_port(it->second);
  }
  return std::nullopt;
}

std::optional<LeaderInfo> RaftDriver::info_of(const std::optional<std::string>& name) const {
  if (!name) return std::nullopt;
  auto address = address_of(*name);
  if (!address) return std::nullopt;
  return LeaderInfo{*name, *address, core_->term()};
}

std::optional<LeaderInfo> RaftDriver::leader() const {
  if (core_->leader()) return info_of(core_->leader());
  if (!core_->configuration().is_member(options_.name)) return discovered_leader_;
  return std::nullopt;
}

void RaftDriver::learn_leader(const LeaderInfo& leader) {
  if (core_->configuration().is_member(options_.name)) return;
  if (discovered_leader_ && discovered_leader_->term > leader.term) return;
  if (!discovered_leader_ || discovered_leader_->name != leader.name) {
    spdlog::info("event=coordinator_announced node={} leader={} term={}", options_.name, leader.name, leader.term);
  }
  discovered_leader_ = leader;
  cluster_seen_ = true;
}

NodeRole RaftDriver::role() const { return role_of(options_.name); }

NodeRole RaftDriver::role_of(const std::string& name) const {
  auto l = leader();
  if (l && l->name == name) return NodeRole::coordinator;
  const auto& config = core_->configuration().voters.empty() ? discovered_config_ : core_->configuration();
  return config.is_voter(name) ? NodeRole::standby : NodeRole::worker;
}

std::uint64_t RaftDriver::term() const { return core_->term(); }

bool RaftDriver::should_bootstrap_now() const {
  if (core_->term() != 0 || core_->last_index() != 0 || cluster_seen_) return false;
  if (options_.bootstrap != BootstrapMode::automatic) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - started_at_ < options_.bootstrap_settle || now - members_changed_at_ < options_.bootstrap_settle / 2) {
    return false;
  }
  for (const auto& [name, address] : live_addresses_) {
    if (name < options_.name) return false;
  }
  return true;
}

asio::awaitable<void> RaftDriver::maintenance_loop() {
  asio::steady_timer timer(executor_);
  while (!stopping_) {
    const bool member = core_->configuration().is_member(options_.name);
    const bool may_bootstrap = options_.bootstrap == BootstrapMode::automatic && !cluster_seen_ &&
                               core_->term() == 0 && core_->last_index() == 0;
    if (!member || may_bootstrap) co_await discover(may_bootstrap);
    if (stopping_) break;
    if (may_bootstrap && should_bootstrap_now()) {
      raft::Configuration config;
      config.voters.emplace(options_.name, options_.advertise.to_string());
      if (core_->bootstrap(config)) {
        spdlog::info("event=raft_bootstrap node={} members_seen={}", options_.name, live_addresses_.size());
        schedule_flush();
      }
    }
    timer.expires_after(may_bootstrap || !leader() ? 250ms : 1000ms);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

asio::awaitable<void> RaftDriver::discover(bool ask_all) {
  // Before bootstrapping, every live member must say that it has no Raft
  // state; otherwise one answer naming a leader is enough (members are
  // asked in turn).
  std::vector<std::pair<std::string, core::HostPort>> targets;
  for (const auto& [name, address] : live_addresses_) {
    if (name != options_.name) targets.emplace_back(name, address);
  }
  if (targets.empty()) co_return;
  if (!ask_all) {
    std::rotate(targets.begin(), targets.begin() + static_cast<std::ptrdiff_t>(discover_cursor_++ % targets.size()),
                targets.end());
  }
  bool all_answered = true;
  bool found_state = false;
  for (const auto& [name, address] : targets) {
    if (stopping_) break;
    try {
      auto reply = co_await call_typed<raftwire::StatusReply>(client_, address, "raft.status",
                                                              raftwire::StatusRequest{}, options_.message_deadline);
      if (reply.has_state()) found_state = true;
      auto leader_address = core::parse_host_port(reply.leader_address());
      if (!reply.leader_name().empty() && leader_address) {
        discovered_leader_ = LeaderInfo{reply.leader_name(), *leader_address, reply.term()};
        if (auto config = from_wire(reply.config())) discovered_config_ = std::move(*config);
        if (!ask_all) break;
      }
    } catch (const RpcError&) {
      all_answered = false;
    }
  }
  if (found_state && !cluster_seen_) {
    cluster_seen_ = true;
    spdlog::info("event=raft_cluster_found node={} leader={}", options_.name,
                 discovered_leader_ ? discovered_leader_->name : "-");
  }
  if (!all_answered) members_changed_at_ = std::chrono::steady_clock::now();
}

}  // namespace idunno::net
