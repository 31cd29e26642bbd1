#include "cli/coordinator_service.hpp"

#include <boost/json.hpp>

#include "core/timeout.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kSubmitTimeout = 10s;

std::vector<net::LiveNode> live_nodes(const std::vector<swim::Member>& members) {
  std::vector<net::LiveNode> live;
  for (const auto& m : members) {
    live.push_back({m.id.name, m.id.addr});
  }
  return live;
}

net::RaftDriverOptions raft_options(const core::Config& config, TransportService& transport) {
  auto options = net::RaftDriverOptions::from_config(config);
  options.control_client = &transport.control_rpc_client();
  return options;
}

}  // namespace

CoordinatorService::CoordinatorService(asio::any_io_executor executor, const core::Config& config,
                                       TransportService& transport, MembershipService& membership,
                                       CommandDispatcher& dispatcher, core::MetricsRegistry& metrics,
                                       std::vector<HostedMachine> machines)
    : membership_(membership) {
  router_.add("kv", kv_state_);
  for (auto& hosted : machines) router_.add(std::move(hosted.name), *hosted.machine);
  raft_ = std::make_unique<net::RaftDriver>(executor, transport.rpc_server(), transport.rpc_client(), router_,
                                            raft_options(config, transport));
  auto& fence = transport.fence();
  fence.set_local_term([this] { return raft_->term(); });
  transport.rpc_server().set_term_source([&fence] { return fence.highest(); });
  for (auto* client : {&transport.rpc_client(), &transport.control_rpc_client()}) {
    client->set_term_observer([this](std::uint64_t term) { raft_->observe_term(term); });
  }
  announcer_ = std::make_unique<net::CoordinatorAnnouncer>(
      executor, transport.rpc_server(), transport.rpc_client(), fence, *raft_,
      net::AnnounceOptions{config.node_name(), config.advertise_address()});
  follow_membership();
  dispatcher.bind("coordinator", [this](std::vector<std::string> args) { return coordinator(std::move(args)); });
  dispatcher.bind("kv-put", [this](std::vector<std::string> args) { return kv_put(std::move(args)); });
  dispatcher.bind("kv-get", [this](std::vector<std::string> args) { return kv_get(std::move(args)); });
  metrics.add([this](core::MetricsWriter& w) {
    w.gauge("raft_term", "current Raft term", static_cast<double>(raft_->term()));
    w.gauge("raft_is_coordinator", "1 when this node is the coordinator",
            raft_->role() == net::NodeRole::coordinator ? 1.0 : 0.0);
    for (const auto role : {net::NodeRole::coordinator, net::NodeRole::standby, net::NodeRole::worker}) {
      w.gauge("raft_role", "this node's role (1 for the current one)", raft_->role() == role ? 1.0 : 0.0,
              {{"role", std::string(net::to_string(role))}});
    }
    const auto& core = raft_->core();
    w.gauge("raft_commit_index", "highest Raft log index known committed", static_cast<double>(core.commit_index()));
    w.gauge("raft_applied_index", "highest Raft log index applied here", static_cast<double>(core.applied_index()));
    w.gauge("raft_last_index", "last Raft log index held here", static_cast<double>(core.last_index()));
    const auto& counters = raft_->counters();
    w.counter("raft_elections_total", "elections this node started (pre-votes included)",
              static_cast<double>(counters.elections_started));
    w.counter("raft_elections_won_total", "elections this node won", static_cast<double>(counters.elections_won));
    w.counter("raft_leader_changes_total", "new leaders this node learned of",
              static_cast<double>(counters.leader_changes));
  });
}

CoordinatorService::~CoordinatorService() = default;

void CoordinatorService::follow_membership() {
  membership_.set_role_source(
      [this](const std::string& name) { return std::string(net::to_string(raft_->role_of(name))); });
  auto update = [this] {
    const auto live = live_nodes(membership_.active_members());
    raft_->on_members_changed(live);
    announcer_->set_members(live);
  };
  membership_.subscribe([update](const swim::MemberEvent& /*event*/) { update(); });
  update();
  // Raft traffic from a node that membership holds dead (a healed
  // partition): membership exchanges state with it now, not at its next
  // periodic re-join, so the leader adds it back within a round trip.
  raft_->on_peer_heard([this](const std::string& /*name*/, const core::HostPort& address) {
    membership_.contact(address);
  });
}

void CoordinatorService::start() {
  raft_->start();
  announcer_->start();
}

asio::awaitable<void> CoordinatorService::stop(StopDeadline deadline) {
  co_await announcer_->stop();
  co_await raft_->stop(deadline.share(3, std::chrono::milliseconds(500)));
}

asio::awaitable<raft::KvResult> CoordinatorService::submit_kv(std::string command) {
  try {
    const std::string reply = co_await raft_->submit("kv", std::move(command), kSubmitTimeout);
    co_return raft::decode_kv_result(reply);
  } catch (const core::TimeoutError&) {
    throw CommandError("no coordinator committed the command within 10 s; is a majority of voters alive?");
  } catch (const net::CommandTooLarge& e) {
    throw CommandError(e.what());
  } catch (const net::SessionExpired& e) {
    throw CommandError(e.what());
  }
}

asio::awaitable<raft::KvResult> CoordinatorService::read_kv(std::string query) {
  try {
    const std::string reply = co_await raft_->read("kv", std::move(query), kSubmitTimeout);
    co_return raft::decode_kv_result(reply);
  } catch (const core::TimeoutError&) {
    throw CommandError("no coordinator confirmed the read within 10 s; is a majority of voters alive?");
  }
}

asio::awaitable<json::value> CoordinatorService::coordinator(std::vector<std::string> /*args*/) {
  const auto leader = raft_->leader();
  json::object out{{"self_role", std::string(net::to_string(raft_->role()))}, {"term", raft_->term()}};
  if (leader) {
    out["name"] = leader->name;
    out["addr"] = leader->address.to_string();
    out["term"] = leader->term;
  } else {
    out["name"] = nullptr;
    out["addr"] = nullptr;
  }
  co_return out;
}

asio::awaitable<json::value> CoordinatorService::kv_put(std::vector<std::string> args) {
  const auto result = co_await submit_kv(raft::kv_put(args.at(0), args.at(1)));
  if (result.status == raft::KvStatus::bad_command) throw CommandError("the coordinator refused the command");
  co_return json::object{{"key", args[0]}, {"value", args[1]}, {"message", "stored " + args[0]}};
}

asio::awaitable<json::value> CoordinatorService::kv_get(std::vector<std::string> args) {
  if (args.size() > 1 && args[1] != "--via-log") throw CommandError("usage: kv-get KEY [--via-log]");
  // Through the log (an entry and an fsync per read) only when asked: the
  // baseline that bench/coordinator.sh compares ReadIndex with.
  const bool via_log = args.size() > 1;
  raft::KvResult result;
  if (via_log) {
    result = co_await submit_kv(raft::kv_get(args.at(0)));
  } else {
    result = co_await read_kv(raft::kv_get(args.at(0)));
  }
  if (result.status == raft::KvStatus::not_found) throw CommandError("no key '" + args[0] + "'");
  if (result.status != raft::KvStatus::ok) throw CommandError("the coordinator refused the command");
  co_return json::object{{"key", args[0]}, {"value", result.value}};
}

}  // namespace idunno::cli
