#include "cli/membership_service.hpp"

#include <array>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "net/swim/swim_config.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

MembershipService::MembershipService(asio::any_io_executor executor, const core::Config& config,
                                     TransportService& transport, CommandDispatcher& dispatcher,
                                     core::MetricsRegistry& metrics, NodeEvents& events,
                                     std::chrono::system_clock::time_point started_at)
    : config_(config), events_(events) {
  const auto start_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(started_at.time_since_epoch()).count());
  swim_ = std::make_unique<swim::SwimDriver>(
      executor, transport.datagrams(), transport.rpc_server(), transport.rpc_client(),
      swim::from_config(config.membership, config.cluster),
      swim::MemberId{config.node_name(), config.advertise_address(), start_ms},
      start_ms ^ std::hash<std::string>{}(config.node_name()));
  swim_->subscribe([this](const swim::MemberEvent& event) { on_event(event); });

  dispatcher.bind("list_mem", [this](std::vector<std::string> args) { return list_mem(std::move(args)); });
  dispatcher.bind("list_self", [this](std::vector<std::string> args) { return list_self(std::move(args)); });
  dispatcher.bind("join", [this](std::vector<std::string> args) { return join(std::move(args)); });
  dispatcher.bind("leave", [this](std::vector<std::string> args) { return leave(std::move(args)); });
  metrics.add([this](core::MetricsWriter& writer) { write_metrics(writer); });
}

MembershipService::~MembershipService() = default;

void MembershipService::start() { swim_->start(config_.cluster.seeds); }

asio::awaitable<void> MembershipService::drain(StopDeadline deadline) {
  // Others then see `left`, not a failure.
  if (!swim_->leaving()) co_await swim_->leave(deadline.share(4, std::chrono::milliseconds(600)));
}

asio::awaitable<void> MembershipService::stop(StopDeadline /*deadline*/) {
  co_await swim_->stop();
  subscribers_.clear();
}

json::object MembershipService::member_json(const swim::Member& m) const {
  return json::object{{"id", m.id.to_string()},
                      {"name", m.id.name},
                      {"addr", m.id.addr.to_string()},
                      {"state", std::string(swim::to_string(m.state))},
                      {"incarnation", m.incarnation},
                      {"role", roles_ ? roles_(m.id.name) : std::string("worker")}};
}

void MembershipService::on_event(const swim::MemberEvent& event) {
  for (const auto& subscriber : subscribers_) {
    try {
      subscriber(event);
    } catch (const std::exception& e) {
      spdlog::warn("event=membership_subscriber_failed error={}", core::log_quote(e.what()));
    }
  }
  if (events_.wanted()) {
    events_.publish("member", json::object{{"kind", std::string(swim::to_string(event.kind))},
                                           {"member", member_json(event.member)}});
  }
}

void MembershipService::write_metrics(core::MetricsWriter& w) const {
  const auto& m = swim_->metrics();
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
          static_cast<double>(swim_->health_score()));
  std::array<std::size_t, 4> by_state{};
  for (const auto& member : swim_->members()) ++by_state.at(static_cast<std::size_t>(member.state));
  w.gauge("swim_members_alive", "members this node sees alive", static_cast<double>(by_state[0]));
  for (const auto state :
       {swim::MemberState::alive, swim::MemberState::suspect, swim::MemberState::dead, swim::MemberState::left}) {
    w.gauge("swim_members", "members this node knows, by state",
            static_cast<double>(by_state.at(static_cast<std::size_t>(state))),
            {{"state", std::string(swim::to_string(state))}});
  }
}

asio::awaitable<json::value> MembershipService::list_mem(std::vector<std::string> /*args*/) {
  json::array members;
  for (const auto& m : swim_->members()) members.push_back(member_json(m));
  co_return json::object{{"members", std::move(members)}};
}

asio::awaitable<json::value> MembershipService::list_self(std::vector<std::string> /*args*/) {
  auto self = member_json(swim_->self());
  self["console"] = config_.console.bind.to_string();
  co_return self;
}

asio::awaitable<json::value> MembershipService::join(std::vector<std::string> /*args*/) {
  if (config_.cluster.seeds.empty()) {
    throw CommandError("no seeds configured ([cluster] seeds or --seed); other nodes can join this one");
  }
  swim_->join();
  co_return json::object{{"message", "joining through " + std::to_string(config_.cluster.seeds.size()) + " seed(s)"}};
}

asio::awaitable<json::value> MembershipService::leave(std::vector<std::string> /*args*/) {
  if (swim_->leaving()) throw CommandError("this node has already left; `join` to come back");
  co_await swim_->leave(std::chrono::milliseconds(0));
  co_return json::object{{"message", "left the group; `join` to come back"}};
}

}  // namespace idunno::cli
