// Membership in the node: the list_mem / join / leave commands, and the
// wiring of SWIM events into Raft's voter set, the console's event stream
// and /metrics.

#include <boost/json.hpp>

#include "cli/node_services.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object member_json(const NodeServices& s, const swim::Member& m) {
  return json::object{{"id", m.id.to_string()},
                      {"name", m.id.name},
                      {"addr", m.id.addr.to_string()},
                      {"state", std::string(swim::to_string(m.state))},
                      {"incarnation", m.incarnation},
                      {"role", std::string(net::to_string(s.raft->role_of(m.id.name)))}};
}

std::vector<net::LiveNode> live_nodes(const swim::SwimDriver& swim) {
  std::vector<net::LiveNode> live;
  for (const auto& m : swim.members()) {
    if (swim::is_active(m.state)) live.push_back({m.id.name, m.id.addr});
  }
  return live;
}

}  // namespace

void NodeServices::wire_membership() {
  swim->subscribe([this](const swim::MemberEvent& event) {
    raft->on_members_changed(live_nodes(*swim));
    if (console && console->subscriber_count("events") > 0) {
      console->publish("events", json::object{{"kind", std::string(swim::to_string(event.kind))},
                                              {"member", member_json(*this, event.member)}});
    }
  });
  raft->on_members_changed(live_nodes(*swim));

  metrics.add([this](core::MetricsWriter& w) {
    const auto& m = swim->metrics();
    w.counter("swim_packets_in_total", "membership datagrams received", static_cast<double>(m.packets_in));
    w.counter("swim_packets_out_total", "membership datagrams sent", static_cast<double>(m.packets_out));
    w.counter("swim_bytes_in_total", "membership datagram payload bytes received", static_cast<double>(m.bytes_in));
    w.counter("swim_bytes_out_total", "membership datagram payload bytes sent", static_cast<double>(m.bytes_out));
    w.counter("swim_stream_bytes_in_total", "membership stream payload bytes received",
              static_cast<double>(m.stream_bytes_in));
    w.counter("swim_stream_bytes_out_total", "membership stream payload bytes sent",
              static_cast<double>(m.stream_bytes_out));
    w.counter("swim_probes_total", "direct probes sent", static_cast<double>(m.probes_sent));
    w.counter("swim_acks_total", "probes answered", static_cast<double>(m.acks_received));
    w.counter("swim_indirect_probes_total", "ping-req messages sent", static_cast<double>(m.indirect_probes_sent));
    w.counter("swim_fallback_pings_total", "TCP fallback pings sent", static_cast<double>(m.fallback_pings_sent));
    w.counter("swim_suspicions_total", "members this node started suspecting", static_cast<double>(m.suspicions));
    w.counter("swim_refutations_total", "suspicions of this node it refuted", static_cast<double>(m.refutations));
    w.counter("swim_deaths_total", "members declared dead", static_cast<double>(m.deaths));
    w.counter("swim_dropped_packets_total", "membership packets dropped (garbage, replay, auth)",
              static_cast<double>(m.dropped_total()));
    w.gauge("swim_health_score", "local health (0 healthy; higher stretches timing)",
            static_cast<double>(swim->health_score()));
    std::size_t alive = 0;
    for (const auto& member : swim->members()) alive += member.state == swim::MemberState::alive ? 1 : 0;
    w.gauge("swim_members_alive", "members this node sees alive", static_cast<double>(alive));
    w.gauge("raft_term", "current Raft term", static_cast<double>(raft->term()));
    w.gauge("raft_is_coordinator", "1 when this node is the coordinator",
            raft->role() == net::NodeRole::coordinator ? 1.0 : 0.0);
  });
}

void bind_membership_commands(NodeServices& s) {
  s.dispatcher.bind("list_mem", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    json::array members;
    for (const auto& m : s.swim->members()) members.push_back(member_json(s, m));
    co_return json::object{{"members", std::move(members)}};
  });
  s.dispatcher.bind("list_self", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    auto self = member_json(s, s.swim->self());
    self["console"] = s.config.console.bind.to_string();
    co_return self;
  });
  s.dispatcher.bind("join", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    if (s.config.cluster.seeds.empty()) {
      throw CommandError("no seeds configured ([cluster] seeds or --seed); other nodes can join this one");
    }
    s.swim->join();
    co_return json::object{{"message", "joining through " + std::to_string(s.config.cluster.seeds.size()) + " seed(s)"}};
  });
  s.dispatcher.bind("leave", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    if (s.swim->leaving()) throw CommandError("this node has already left; `join` to come back");
    co_await s.swim->leave(std::chrono::milliseconds(0));
    co_return json::object{{"message", "left the group; `join` to come back"}};
  });
}

}  // namespace idunno::cli
