#include "net/swim/swim_sim.hpp"

#include <algorithm>
#include <cmath>

#include "net/swim/bytes.hpp"

namespace idunno::swim {

namespace {
// Simulated wall clock at the simulation's time zero.
constexpr std::uint64_t wall_epoch_ms = 1'700'000'000'000;
const core::TimePoint sim_start = core::TimePoint(std::chrono::hours(1));
}  // namespace

SwimSimulation::SwimSimulation(std::uint64_t seed, SwimConfig config)
    : seed_(seed), config_(std::move(config)), rng_(seed), now_(sim_start) {}

core::HostPort SwimSimulation::addr_of(std::size_t i) const {
  return core::HostPort{"127.0.0.1", static_cast<std::uint16_t>(7001 + i)};
}

void SwimSimulation::add_nodes(std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = nodes_.size();
    Node node;
    node.name = "node" + std::to_string(i + 1);
    nodes_.push_back(std::move(node));
    by_addr_[addr_of(i)] = i;
  }
}

void SwimSimulation::start(std::size_t i, const std::vector<std::size_t>& seeds) {
  Node& node = nodes_[i];
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_ - sim_start).count();
  // +i keeps start times distinct even for nodes started at the same instant.
  MemberId id{node.name, addr_of(i), wall_epoch_ms + static_cast<std::uint64_t>(elapsed_ms) + i};
  node.core = std::make_unique<SwimCore>(node.config ? *node.config : config_, id, rng_(), now_);
  node.crashed = false;
  ++node.epoch;
  node.next_wake = core::TimePoint::max();
  std::vector<core::HostPort> seed_addrs;
  for (auto s : seeds) seed_addrs.push_back(addr_of(s));
  if (!seed_addrs.empty()) node.core->join(now_, seed_addrs);
  after_input(i);
}

bool SwimSimulation::bootstrap(std::size_t n, std::size_t seeds, core::Duration limit) {
  const std::size_t first = nodes_.size();
  add_nodes(n);
  std::vector<std::size_t> seed_nodes;
  for (std::size_t s = 0; s < std::min(seeds, n); ++s) seed_nodes.push_back(first + s);
  for (std::size_t k = 0; k < n; ++k) {
    start(first + k, seed_nodes);
    run_for(std::chrono::milliseconds(5));
  }
  return run_until([this] { return converged(); }, limit);
}

void SwimSimulation::crash(std::size_t i) {
  nodes_[i].crashed = true;
  nodes_[i].next_wake = core::TimePoint::max();
}

void SwimSimulation::restart(std::size_t i, const std::vector<std::size_t>& seeds) {
  // Time moves on between a crash and a restart, so the start time differs.
  start(i, seeds);
}

void SwimSimulation::leave(std::size_t i) {
  nodes_[i].core->leave(now_);
  after_input(i);
}

void SwimSimulation::set_slow(std::size_t i, core::Duration extra) { nodes_[i].slow = extra; }

void SwimSimulation::partition(const std::vector<std::vector<std::size_t>>& groups) {
  for (auto& node : nodes_) node.group = -1;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (auto i : groups[g]) nodes_[i].group = static_cast<int>(g);
  }
}

void SwimSimulation::heal() {
  for (auto& node : nodes_) node.group = 0;
}

bool SwimSimulation::chance(double p) {
  return p > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

bool SwimSimulation::reachable(std::size_t a, std::size_t b) const {
  return nodes_[a].group == nodes_[b].group && nodes_[a].group >= 0;
}

core::Duration SwimSimulation::latency(std::size_t a, std::size_t b) {
  const auto lo = faults_.delay_min.count();
  const auto hi = std::max(lo, faults_.delay_max.count());
  auto d = std::uniform_int_distribution<core::Duration::rep>(lo, hi)(rng_);
  for (auto n : {a, b}) {
    if (nodes_[n].slow.count() > 0) d += std::uniform_int_distribution<core::Duration::rep>(0, nodes_[n].slow.count())(rng_);
  }
  return core::Duration(d);
}

std::optional<std::size_t> SwimSimulation::node_at(const core::HostPort& addr) const {
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return std::nullopt;
  return it->second;
}

void SwimSimulation::push(Item item) {
  item.order = next_order_++;
  queue_.push(std::move(item));
}

void SwimSimulation::after_input(std::size_t i) {
  Node& node = nodes_[i];
  if (!node.core || node.crashed) return;
  Output out = node.core->take_output();
  for (auto& e : out.events) {
    record_index_[{e.member.id, e.kind}].push_back(records_.size());
    records_.push_back(Record{now_, i, std::move(e)});
  }
  for (auto& p : out.packets) route_packet(i, std::move(p));
  for (auto& s : out.streams) route_stream(i, std::move(s));
  const auto deadline = node.core->next_deadline();
  if (deadline && *deadline < node.next_wake) {
    node.next_wake = *deadline;
    Item timer;
    timer.at = std::max(*deadline, now_);
    timer.kind = ItemKind::timer;
    timer.node = i;
    timer.epoch = node.epoch;
    push(std::move(timer));
  }
}

void SwimSimulation::route_packet(std::size_t from, OutPacket packet) {
  largest_packet_ = std::max(largest_packet_, packet.bytes.size());
  auto to = node_at(packet.to);
  if (!to || !reachable(from, *to) || chance(faults_.loss)) return;
  const int copies = chance(faults_.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    Item item;
    item.at = now_ + latency(from, *to);
    item.kind = ItemKind::packet;
    item.node = *to;
    item.epoch = nodes_[*to].epoch;
    item.from_addr = addr_of(from);
    item.bytes = packet.bytes;
    push(std::move(item));
  }
}

void SwimSimulation::route_stream(std::size_t from, StreamRequest request) {
  Item result;
  result.kind = ItemKind::stream_result;
  result.node = from;
  result.epoch = nodes_[from].epoch;
  result.stream_id = request.id;
  result.deadline = now_ + request.timeout;
  auto to = node_at(request.to);
  const double segments_lost = faults_.stream_loss >= 0.0 ? faults_.stream_loss : 1.0 - std::pow(1.0 - faults_.loss, 4);
  if (!to || !nodes_[*to].core || nodes_[*to].crashed) {
    // Connection refused comes back after a round trip.
    result.at = std::min(result.deadline, now_ + 2 * latency(from, from));
    push(std::move(result));
    return;
  }
  if (!reachable(from, *to) || chance(segments_lost)) {
    result.at = result.deadline;
    push(std::move(result));
    return;
  }
  Item item;
  item.at = now_ + latency(from, *to);
  item.kind = ItemKind::stream_request;
  item.node = *to;
  item.epoch = nodes_[*to].epoch;
  item.from = from;
  item.from_epoch = nodes_[from].epoch;
  item.stream_id = request.id;
  item.deadline = result.deadline;
  item.bytes = std::move(request.payload);
  push(std::move(item));
}

void SwimSimulation::step(Item item) {
  now_ = std::max(now_, item.at);
  ++steps_;
  Node& node = nodes_[item.node];
  if (!node.core || node.crashed || item.epoch != node.epoch) return;
  switch (item.kind) {
    case ItemKind::timer:
      if (item.at != node.next_wake) return;  // superseded by an earlier wake-up
      node.next_wake = core::TimePoint::max();
      node.core->tick(now_);
      break;
    case ItemKind::packet:
      node.core->on_packet(now_, item.from_addr, as_bytes(item.bytes));
      break;
    case ItemKind::stream_request: {
      auto reply = node.core->on_stream_request(now_, as_bytes(item.bytes));
      Item result;
      result.kind = ItemKind::stream_result;
      result.node = item.from;
      result.epoch = item.from_epoch;
      result.stream_id = item.stream_id;
      result.at = std::min(item.deadline, now_ + latency(item.node, item.from));
      result.ok = reply.has_value() && result.at < item.deadline;
      if (reply) result.bytes = std::move(*reply);
      push(std::move(result));
      break;
    }
    case ItemKind::stream_result:
      if (item.ok) node.core->on_stream_reply(now_, item.stream_id, as_bytes(item.bytes));
      else node.core->on_stream_failed(now_, item.stream_id);
      break;
  }
  after_input(item.node);
}

void SwimSimulation::run_for(core::Duration d) {
  const core::TimePoint until = now_ + d;
  while (!queue_.empty() && queue_.top().at <= until) {
    Item item = queue_.top();
    queue_.pop();
    step(std::move(item));
  }
  now_ = until;
}

bool SwimSimulation::run_until(const std::function<bool()>& done, core::Duration limit) {
  const core::TimePoint until = now_ + limit;
  // Checking after every step is costly for big groups; every 50 ms of
  // simulated time is precise enough.
  const core::Duration check_every = std::chrono::milliseconds(50);
  while (now_ < until) {
    if (done()) return true;
    run_for(std::min(check_every, until - now_));
  }
  return done();
}

std::optional<MemberState> SwimSimulation::view(std::size_t i, std::size_t j) const {
  if (!nodes_[j].core || !nodes_[i].core) return std::nullopt;
  const Member* m = nodes_[i].core->find(nodes_[j].core->self().id);
  if (!m) return std::nullopt;
  return m->state;
}

bool SwimSimulation::converged() const {
  std::vector<MemberId> live;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].core && !nodes_[i].crashed && !nodes_[i].core->leaving()) live.push_back(nodes_[i].core->self().id);
  }
  // A cheap count check on every node first; the full check only when all
  // counts agree.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].core || nodes_[i].crashed || nodes_[i].core->leaving()) continue;
    if (nodes_[i].core->live_members() != live.size()) return false;
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].core || nodes_[i].crashed || nodes_[i].core->leaving()) continue;
    const SwimCore& core = *nodes_[i].core;
    for (const auto& id : live) {
      const Member* m = core.find(id);
      if (!m || m->state != MemberState::alive) return false;
    }
  }
  return true;
}

std::optional<core::TimePoint> SwimSimulation::first_event(std::size_t observer, const MemberId& member, EventKind kind,
                                                           core::TimePoint since) const {
  auto it = record_index_.find({member, kind});
  if (it == record_index_.end()) return std::nullopt;
  for (auto index : it->second) {
    const Record& r = records_[index];
    if (r.observer == observer && r.at >= since) return r.at;
  }
  return std::nullopt;
}

}  // namespace idunno::swim
