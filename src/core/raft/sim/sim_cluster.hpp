#pragma once
// Many Raft nodes in one process on a simulated network, disk and clock.
//
// Why: faults are inputs. One seeded RNG decides every delay, loss,
// duplicate, partition, crash and batch boundary, and time only moves when
// the next event is taken, so a run is a pure function of its seed and a
// failing seed replays exactly. Nodes flush either right after an input or a
// little later, batching several inputs as the real driver does; a crash in
// between loses the unsynced writes. Every flush is checked by Invariants.
// Test-only, single-threaded.

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "core/raft/lanes.hpp"
#include "core/raft/memory_storage.hpp"
#include "core/raft/node.hpp"
#include "core/raft/sim/sim_invariants.hpp"
#include "core/raft/sim/sim_state_machine.hpp"
#include "core/raft/sim/tcp_link.hpp"

namespace idunno::raft::sim {

using namespace std::chrono_literals;

struct NetworkFaults {
  double loss = 0.0;
  double duplicate = 0.0;
  core::Duration min_delay = 100us;
  core::Duration max_delay = 2ms;
};

struct ClusterOptions {
  RaftConfig raft;
  NetworkFaults network;
  double immediate_flush = 0.7;  // else the flush comes up to max_flush_delay later
  core::Duration max_flush_delay = 1ms;
  RouterOptions router;
  // Messages travel over TCP: the model's loss stalls a link (retransmission,
  // head-of-line blocking) instead of dropping a message, and network.loss
  // and duplicate do not apply. A partition or crash resets the node's
  // connections. Each pair of nodes has a connection per lane, used as the
  // driver does (core/raft/lanes.hpp).
  std::optional<TcpLossModel> tcp;
  // State machines every node hosts beside "kv" (sim_state_machine.hpp).
  MachineFactory machines;
};

class Cluster {
 public:
  Cluster(std::uint64_t seed, ClusterOptions options) : rng_(seed), options_(std::move(options)) {}

  // A new node with an empty disk, started.
  void add_node(const NodeName& name) {
    auto node = std::make_unique<SimNode>();
    node->name = name;
    nodes_.emplace(name, std::move(node));
    start(name);
  }

  void bootstrap(const std::vector<NodeName>& voters) {
    Configuration config;
    for (const auto& v : voters) config.voters.emplace(v, v);
    for (const auto& v : voters) {
      node(v).raft->bootstrap(config);
      after_input(node(v));
    }
  }

  void crash(const NodeName& name) {
    auto& n = node(name);
    if (!n.up) return;
    n.up = false;
    n.raft.reset();
    n.machine.reset();
    n.storage.crash(rng_);
    n.pending.clear();
    reset_links(name);
    ++crashes_;
    trace("crash " + name);
  }

  void restart(const NodeName& name) {
    if (node(name).up) return;
    start(name);
    trace("restart " + name);
  }

  bool is_up(const NodeName& name) const { return nodes_.at(name)->up; }

  // Nodes in different groups cannot talk; unlisted nodes form group 0.
  void partition(const std::vector<std::set<NodeName>>& groups) {
    group_.clear();
    std::string text;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      text += " {";
      for (const auto& name : groups[g]) {
        group_[name] = static_cast<int>(g) + 1;
        reset_links(name);
        text += " " + name;
      }
      text += " }";
    }
    trace("partition" + text);
  }

  void heal() {
    group_.clear();
    trace("heal");
  }

  void set_network(const NetworkFaults& faults) { options_.network = faults; }
  void set_tcp(std::optional<TcpLossModel> tcp) { options_.tcp = tcp; }

  // What membership would report: every node in `live`.
  void set_live_members(const std::set<NodeName>& live) {
    live_ = LiveMembers{};
    for (const auto& name : live) live_->emplace(name, name);
    for (auto& [name, n] : nodes_) {
      if (!n->up) continue;
      n->raft->set_live_members(*live_);
      after_input(*n);
    }
  }

  void run_for(core::Duration duration) { run_until([] { return false; }, duration); }

  // Runs until `done()` holds after an event, or `limit` passes; true if done.
  template <typename Pred>
  bool run_until(Pred done, core::Duration limit) {
    const auto end = clock_.now() + limit;
    while (!events_.empty() && events_.top().at <= end) {
      auto event = events_.top();
      events_.pop();
      clock_.set(event.at);
      handle(event);
      if (done()) return true;
    }
    clock_.set(end);
    return done();
  }

  // The up node that is leader in the highest term, if any.
  std::optional<NodeName> leader() const {
    std::optional<NodeName> best;
    Term best_term = 0;
    for (const auto& [name, n] : nodes_) {
      if (n->up && n->raft->role() == Role::leader && n->raft->term() >= best_term) {
        best = name;
        best_term = n->raft->term();
      }
    }
    return best;
  }

  // Proposes a put of a fresh key to the current leader; true if accepted.
  bool propose_write() {
    auto name = leader();
    if (!name) return false;
    auto& n = node(*name);
    const auto key = "k" + std::to_string(next_key_++);
    auto proposal = n.raft->propose(kv_put(key, "v" + key));
    if (!proposal.accepted) return false;
    n.pending.emplace(proposal.index, Pending{proposal.term, key});
    after_input(n);
    return true;
  }

  // A proposal of raw entry bytes to `name` (any node; it may refuse).
  Proposal propose_on(const NodeName& name, std::string entry) {
    auto& n = node(name);
    if (!n.up) return {};
    auto proposal = n.raft->propose(std::move(entry));
    after_input(n);
    return proposal;
  }

  // A ReadIndex request on `name`; its ReadState reaches on_read.
  bool read_on(const NodeName& name, ReadId id) {
    auto& n = node(name);
    if (!n.up || !n.raft->read_index(id)) return false;
    after_input(n);
    return true;
  }

  // Called for every command a node applies and every ReadState it
  // reports, as its flush hands them out.
  std::function<void(const NodeName&, const Applied&)> on_applied;
  std::function<void(const NodeName&, const ReadState&)> on_read;

  const SimStateMachine& machine(const NodeName& name) const { return *nodes_.at(name)->machine; }

  // Asks the current leader to hand over leadership.
  void transfer_leadership() {
    auto name = leader();
    if (!name) return;
    auto& n = node(*name);
    if (n.raft->transfer_leadership()) after_input(n);
  }

  // Runs until an entry proposed now commits and every member of the
  // leader's configuration that is up has applied it.
  bool converge(core::Duration limit) {
    const auto end = clock_.now() + limit;
    while (clock_.now() < end) {
      if (!propose_write()) {
        run_for(10ms);
        continue;
      }
      const auto leader_name = *leader();
      const Index target = node(leader_name).raft->last_index();
      const Term term = node(leader_name).raft->term();
      const bool ok = run_until(
          [&] {
            auto& l = node(leader_name);
            if (!l.up || l.raft->role() != Role::leader || l.raft->term() != term) return true;
            for (const auto& [name, address] : l.raft->configuration().voters) {
              if (is_up(name) && node(name).reported_applied < target) return false;
            }
            for (const auto& [name, address] : l.raft->configuration().learners) {
              if (is_up(name) && node(name).reported_applied < target) return false;
            }
            return true;
          },
          end - clock_.now());
      auto& l = node(leader_name);
      if (ok && l.up && l.raft->role() == Role::leader && l.raft->term() == term) return true;
    }
    return false;
  }

  // Every acknowledged write is in the leader's state machine.
  void check_acknowledged_writes() {
    auto name = leader();
    if (!name) throw InvariantViolation("no leader to check acknowledged writes against");
    const auto& kv = node(*name).machine->kv();
    for (const auto& key : acknowledged_) {
      if (kv.get(key) != "v" + key) throw InvariantViolation("acknowledged write " + key + " is lost");
    }
  }

  const RaftNode& raft(const NodeName& name) const { return *nodes_.at(name)->raft; }
  std::vector<NodeName> names() const {
    std::vector<NodeName> out;
    for (const auto& [name, n] : nodes_) out.push_back(name);
    return out;
  }
  std::mt19937_64& rng() { return rng_; }
  core::TimePoint now() const { return clock_.now(); }
  std::size_t acknowledged() const { return acknowledged_.size(); }
  const Invariants& invariants() const { return invariants_; }
  const std::map<EventKind, std::size_t>& event_counts() const { return event_counts_; }
  std::size_t crashes() const { return crashes_; }
  // When a leader of each term first committed an entry of its own term.
  const std::map<Term, core::TimePoint>& first_commit() const { return first_commit_; }

  void trace(const std::string& line) {
    std::ostringstream out;
    out << core::to_millis(clock_.now()) << "ms " << line;
    trace_.push_back(out.str());
    if (trace_.size() > 80) trace_.pop_front();
  }
  std::string recent_trace() const {
    std::string out;
    for (const auto& line : trace_) out += "  " + line + "\n";
    out += "nodes at " + std::to_string(core::to_millis(clock_.now())) + "ms:\n";
    for (const auto& [name, n] : nodes_) {
      out += "  " + name;
      if (!n->up) {
        out += " down\n";
        continue;
      }
      const auto& r = *n->raft;
      out += " " + std::string(to_string(r.role())) + " term=" + std::to_string(r.term()) +
             " leader=" + r.leader().value_or("-") + " last=" + std::to_string(r.last_index()) +
             " commit=" + std::to_string(r.commit_index()) + " applied=" + std::to_string(r.applied_index()) +
             " deadline=" + std::to_string(core::to_millis(r.next_deadline())) + "ms voters={";
      for (const auto& [v, a] : r.configuration().voters) out += " " + v;
      out += " } learners={";
      for (const auto& [v, a] : r.configuration().learners) out += " " + v;
      out += " }\n";
    }
    return out;
  }

 private:
  struct Pending {
    Term term;
    std::string key;
  };
  struct SimNode {
    NodeName name;
    MemoryStorage storage;
    std::unique_ptr<SimStateMachine> machine;
    std::unique_ptr<RaftNode> raft;
    bool up = false;
    Index checked_commit = 0;
    std::uint64_t wake_generation = 0;
    core::TimePoint wake_at{};
    bool flush_scheduled = false;
    // The applied index the node's last flush reported: what on_applied has
    // seen (the node's own applied index runs ahead until it flushes).
    Index reported_applied = 0;
    std::map<Index, Pending> pending;
  };
  enum class Kind { deliver, pump, wake, flush };
  struct SimEvent {
    core::TimePoint at;
    std::uint64_t sequence;
    Kind kind;
    NodeName node;
    std::uint64_t generation = 0;
    std::shared_ptr<const Message> message;
    NodeName peer;  // pump: the sending end of the link
    bool operator>(const SimEvent& o) const { return std::tie(at, sequence) > std::tie(o.at, o.sequence); }
  };

  SimNode& node(const NodeName& name) { return *nodes_.at(name); }

  void start(const NodeName& name) {
    auto& n = node(name);
    n.machine = std::make_unique<SimStateMachine>(
        [this, name](Index index, std::uint64_t digest) { invariants_.on_applied(name, index, digest); },
        options_.router, options_.machines);
    n.raft = std::make_unique<RaftNode>(name, options_.raft, n.storage, *n.machine, clock_, rng_());
    n.up = true;
    n.checked_commit = n.raft->commit_index();
    n.reported_applied = 0;
    n.flush_scheduled = false;
    if (live_) n.raft->set_live_members(*live_);
    after_input(n);
  }

  void schedule(core::TimePoint at, Kind kind, const NodeName& name, std::uint64_t generation,
                std::shared_ptr<const Message> message = nullptr, NodeName peer = {}) {
    events_.push(SimEvent{at, next_sequence_++, kind, name, generation, std::move(message), std::move(peer)});
  }

  core::Duration random_delay(core::Duration low, core::Duration high) {
    if (high <= low) return low;
    return core::Duration(std::uniform_int_distribution<core::Duration::rep>(low.count(), high.count())(rng_));
  }

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  bool connected(const NodeName& a, const NodeName& b) const {
    auto ga = group_.find(a);
    auto gb = group_.find(b);
    return (ga == group_.end() ? 0 : ga->second) == (gb == group_.end() ? 0 : gb->second);
  }

  void handle(const SimEvent& event) {
    auto& n = node(event.node);
    if (!n.up) return;
    switch (event.kind) {
      case Kind::deliver:
        if (!connected(event.message->from, event.node)) return;
        n.raft->step(*event.message);
        after_input(n);
        break;
      case Kind::pump: pump_link(n, event.peer, event.generation == 1 ? Lane::data : Lane::control); break;
      case Kind::wake:
        if (event.generation != n.wake_generation) return;
        n.wake_at = {};
        n.raft->tick();
        after_input(n);
        break;
      case Kind::flush:
        if (n.flush_scheduled) pump(n);
        break;
    }
  }

  void after_input(SimNode& n) {
    if (chance(options_.immediate_flush)) {
      pump(n);
      return;
    }
    if (!n.flush_scheduled) {
      n.flush_scheduled = true;
      schedule(clock_.now() + random_delay(0ns, options_.max_flush_delay), Kind::flush, n.name, 0);
    }
    schedule_wake(n);
  }

  void schedule_wake(SimNode& n) {
    const auto at = std::max(n.raft->next_deadline(), clock_.now());
    if (at == n.wake_at) return;
    n.wake_at = at;
    schedule(at, Kind::wake, n.name, ++n.wake_generation);
  }

  void pump(SimNode& n) {
    n.flush_scheduled = false;
    auto ready = n.raft->flush();
    n.reported_applied = ready.applied_index;
    for (auto& message : ready.messages) {
      invariants_.check_durable_before_send(*n.raft, n.storage, message);
      send(std::make_shared<const Message>(std::move(message)));
    }
    for (const auto& applied : ready.applied) {
      resolve(n, applied);
      if (on_applied) on_applied(n.name, applied);
    }
    if (on_read) {
      for (const auto& read : ready.reads) on_read(n.name, read);
    }
    for (const auto& event : ready.events) observe(n, event);
    invariants_.check_committed(*n.raft, n.checked_commit);
    if (n.raft->role() == Role::leader) {
      invariants_.on_leader(n.name, n.raft->term());
      if (n.raft->log().term_at(n.raft->commit_index()) == n.raft->term()) {
        first_commit_.emplace(n.raft->term(), clock_.now());
      }
    }
    schedule_wake(n);
  }

  void send(std::shared_ptr<const Message> message) {
    if (!connected(message->from, message->to) || !nodes_.contains(message->to)) return;
    if (options_.tcp) {
      send_over_tcp(std::move(message));
      return;
    }
    if (chance(options_.network.loss)) return;
    const int copies = chance(options_.network.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const auto delay = random_delay(options_.network.min_delay, options_.network.max_delay);
      schedule(clock_.now() + delay, Kind::deliver, message->to, 0, message);
    }
  }

  // The lanes as the driver uses them: a message waits on its lane until it
  // is delivered; while one has waited for a heartbeat, AppendEntries that
  // would use that lane also go on the other as bare heartbeats, one a
  // heartbeat.
  void send_over_tcp(std::shared_ptr<const Message> message) {
    const auto now = clock_.now();
    const Lane lane = lane_of(message->payload);
    auto& state = lanes_[{message->from, message->to, lane}];
    const auto oldest = links(lane).oldest_waiting(message->from, message->to);
    if (oldest && now - *oldest >= options_.raft.heartbeat && now - state.last_bare >= options_.raft.heartbeat) {
      if (auto bare = bare_heartbeat(message->payload)) {
        state.last_bare = now;
        deliver_on(other_lane(lane), std::make_shared<const Message>(Message{message->from, message->to, *bare}));
      }
    }
    deliver_on(lane, std::move(message));
  }

  TcpLinks<std::shared_ptr<const Message>>& links(Lane lane) {
    return lane == Lane::data ? data_links_ : control_links_;
  }

  void deliver_on(Lane lane, std::shared_ptr<const Message> message) {
    const auto delay = random_delay(options_.network.min_delay, options_.network.max_delay);
    NodeName from = message->from;
    const NodeName to = message->to;
    const auto at = links(lane).send(from, to, clock_.now(), delay, *options_.tcp, rng_, std::move(message));
    schedule(at, Kind::pump, to, lane == Lane::data ? 1 : 0, nullptr, std::move(from));
  }

  // Delivers what a link to `n` holds that has arrived by now.
  void pump_link(SimNode& n, const NodeName& from, Lane lane) {
    for (auto& message : links(lane).take_ready(from, n.name, clock_.now())) {
      if (!n.up) return;
      if (!connected(from, n.name)) continue;
      n.raft->step(*message);
      after_input(n);
    }
  }

  void reset_links(const NodeName& name) {
    control_links_.reset(name);
    data_links_.reset(name);
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      const bool touches = std::get<0>(it->first) == name || std::get<1>(it->first) == name;
      it = touches ? lanes_.erase(it) : std::next(it);
    }
  }

  void resolve(SimNode& n, const Applied& applied) {
    auto it = n.pending.find(applied.index);
    if (it == n.pending.end()) return;
    if (it->second.term == applied.term) acknowledged_.push_back(it->second.key);
    n.pending.erase(it);
  }

  void observe(SimNode& n, const Event& event) {
    trace(n.name + " " + std::string(to_string(event.kind)) + " term=" + std::to_string(event.term) +
          (event.node.empty() ? "" : " node=" + event.node) + (event.reason.empty() ? "" : " " + event.reason));
    ++event_counts_[event.kind];
    if (event.kind == EventKind::election_won) {
      invariants_.on_leader(n.name, event.term);
      invariants_.check_leader_completeness(*n.raft);
    }
  }

  std::mt19937_64 rng_;
  ClusterOptions options_;
  core::FakeClock clock_;
  std::map<NodeName, std::unique_ptr<SimNode>> nodes_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> events_;
  std::uint64_t next_sequence_ = 0;
  std::map<NodeName, int> group_;
  TcpLinks<std::shared_ptr<const Message>> control_links_;
  TcpLinks<std::shared_ptr<const Message>> data_links_;
  struct LaneState {
    core::TimePoint last_bare{};
  };
  std::map<std::tuple<NodeName, NodeName, Lane>, LaneState> lanes_;
  std::optional<LiveMembers> live_;
  Invariants invariants_;
  std::vector<std::string> acknowledged_;
  std::uint64_t next_key_ = 0;
  std::size_t crashes_ = 0;
  std::map<Term, core::TimePoint> first_commit_;
  std::deque<std::string> trace_;
  std::map<EventKind, std::size_t> event_counts_;
};

}  // namespace idunno::raft::sim
