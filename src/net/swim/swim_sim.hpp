#pragma once
// Deterministic simulation of a SWIM group: many SwimCores on one simulated
// network and clock, with seeded loss, delay jitter, duplication, slow
// nodes, partitions, crashes, restarts and leaves.
//
// Why: failure detectors are judged by rare events (a false declaration per
// hour, a slow detection at the tail); only a simulation runs enough of them
// quickly, and a seed replays any failure exactly. One random source drives
// everything (faults and every core's seed); ties are broken by insertion
// order. Single-threaded; owned by the test or benchmark that runs it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "net/swim/swim_core.hpp"

namespace idunno::swim {

// Network faults, described as data.
struct SimFaults {
  double loss = 0.0;       // probability a datagram is dropped
  double duplicate = 0.0;  // probability a datagram is delivered twice
  core::Duration delay_min = std::chrono::microseconds(200);
  core::Duration delay_max = std::chrono::milliseconds(2);
  // Probability a stream exchange (TCP fallback ping, push-pull) fails;
  // negative: as if each of its ~4 segments met `loss` (TCP would then
  // retransmit too late to matter).
  double stream_loss = -1.0;
};

class SwimSimulation {
 public:
  struct Record {
    core::TimePoint at;
    std::size_t observer;
    MemberEvent event;
  };

  SwimSimulation(std::uint64_t seed, SwimConfig config);

  // Adds `count` nodes named nodeK (not started).
  void add_nodes(std::size_t count);
  // Node i runs with its own config from its next start (e.g. another
  // cluster secret).
  void configure(std::size_t i, SwimConfig config) { nodes_[i].config = std::move(config); }
  // Starts node i and joins it through `seeds` (node indexes).
  void start(std::size_t i, const std::vector<std::size_t>& seeds);
  // Adds and starts n nodes joining through the first `seeds` nodes, then
  // runs until every node sees all n alive (or `limit` passes). True when
  // converged.
  bool bootstrap(std::size_t n, std::size_t seeds = 3, core::Duration limit = std::chrono::seconds(60));

  void crash(std::size_t i);
  // A new process at the same address (new start time, new member id).
  void restart(std::size_t i, const std::vector<std::size_t>& seeds);
  void leave(std::size_t i);
  void set_faults(const SimFaults& faults) { faults_ = faults; }
  // Extra random latency (0..extra) on every packet to or from node i.
  void set_slow(std::size_t i, core::Duration extra);
  // Nodes in different groups cannot reach each other. heal() joins all.
  void partition(const std::vector<std::vector<std::size_t>>& groups);
  void heal();

  void run_for(core::Duration d);
  // Runs until `done()` holds (checked after each step) or `limit` passes.
  bool run_until(const std::function<bool()>& done, core::Duration limit);

  core::TimePoint now() const { return now_; }
  std::size_t size() const { return nodes_.size(); }
  bool running(std::size_t i) const { return nodes_[i].core && !nodes_[i].crashed; }
  SwimCore& core(std::size_t i) { return *nodes_[i].core; }
  MemberId id_of(std::size_t i) const { return nodes_[i].core->self().id; }
  core::HostPort addr_of(std::size_t i) const;
  // Node i's view of node j's current process (nullopt: unknown).
  std::optional<MemberState> view(std::size_t i, std::size_t j) const;
  // True when every running node sees every other running node alive.
  bool converged() const;
  const std::vector<Record>& records() const { return records_; }
  // When observer first reported `kind` about `member` at or after `since`.
  std::optional<core::TimePoint> first_event(std::size_t observer, const MemberId& member, EventKind kind,
                                             core::TimePoint since = {}) const;
  std::uint64_t seed() const { return seed_; }
  std::uint64_t events_processed() const { return steps_; }
  // The largest datagram any node sent so far.
  std::size_t largest_packet() const { return largest_packet_; }

 private:
  enum class ItemKind : std::uint8_t { packet, stream_request, stream_result, timer };
  struct Item {
    core::TimePoint at;
    std::uint64_t order = 0;
    ItemKind kind = ItemKind::timer;
    std::size_t node = 0;    // receiver
    std::uint64_t epoch = 0; // receiver process epoch
    std::size_t from = 0;    // sender node (stream requests)
    std::uint64_t from_epoch = 0;
    core::HostPort from_addr;
    std::uint64_t stream_id = 0;
    core::TimePoint deadline{};
    bool ok = false;
    std::string bytes;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };
  struct Node {
    std::string name;
    std::unique_ptr<SwimCore> core;
    std::optional<SwimConfig> config;
    bool crashed = false;
    std::uint64_t epoch = 0;
    core::TimePoint next_wake = core::TimePoint::max();
    core::Duration slow{};
    int group = 0;
  };

  void push(Item item);
  void step(Item item);
  void after_input(std::size_t i);
  void route_packet(std::size_t from, OutPacket packet);
  void route_stream(std::size_t from, StreamRequest request);
  bool reachable(std::size_t a, std::size_t b) const;
  core::Duration latency(std::size_t a, std::size_t b);
  bool chance(double p);
  std::optional<std::size_t> node_at(const core::HostPort& addr) const;

  std::uint64_t seed_;
  SwimConfig config_;
  std::mt19937_64 rng_;
  SimFaults faults_;
  core::TimePoint now_;
  std::priority_queue<Item, std::vector<Item>, Later> queue_;
  std::uint64_t next_order_ = 0;
  std::uint64_t steps_ = 0;
  std::size_t largest_packet_ = 0;
  std::vector<Node> nodes_;
  std::map<core::HostPort, std::size_t> by_addr_;
  std::vector<Record> records_;
  // Record indexes by (member, kind), for first_event.
  std::map<std::pair<MemberId, EventKind>, std::vector<std::size_t>> record_index_;
};

}  // namespace idunno::swim
