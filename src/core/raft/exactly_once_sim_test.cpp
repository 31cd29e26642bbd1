// Exactly-once commands in simulation: a client with a session retries each
// command (same sequence number) after a reply it never got, across forced
// leader changes (handovers and a partitioned leader) on a lossy network
// that duplicates messages; every node must apply every command once. The
// same run with deduplication off shows the workload really retries
// commands that had already applied.

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "core/raft/router.hpp"
#include "core/raft/sim/sim_cluster.hpp"

namespace idunno::raft::sim {
namespace {

const std::vector<NodeName> kNodes = {"n1", "n2", "n3", "n4", "n5"};

struct Outcome {
  std::size_t commands = 0;
  std::size_t retries = 0;
  std::size_t leader_changes = 0;
  // (node, seq) -> how many times it ran fresh on that node.
  std::map<std::pair<NodeName, std::uint64_t>, int> runs;
  std::map<std::uint64_t, std::string> first_result;  // by seq
  std::map<std::uint64_t, std::string> client_saw;    // the result the client finally took
  bool all_answered = true;
};

class RetryingClient {
 public:
  RetryingClient(Cluster& cluster, Outcome& out) : cluster_(cluster), out_(out) {
    cluster_.on_applied = [this](const NodeName& node, const Applied& applied) { observe(node, applied); };
  }

  // Runs `entry` until a reply is taken; replies are dropped with
  // `drop_reply` chance, and after each drop or timeout leadership moves.
  std::optional<RouteResult> run(const RoutedEntry& entry, double drop_reply) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto leader = cluster_.leader();
      if (!leader) {
        cluster_.run_for(20ms);
        continue;
      }
      const auto now_ms = static_cast<std::uint64_t>(core::to_millis(cluster_.now()));
      auto proposal = cluster_.propose_on(*leader, stamp_time(encode_routed(entry), now_ms));
      if (!proposal.accepted) {
        cluster_.run_for(10ms);
        continue;
      }
      waiting_ = Waiting{*leader, proposal.index, proposal.term, std::nullopt};
      cluster_.run_until([this] { return waiting_->reply.has_value(); }, 400ms);
      auto reply = std::exchange(waiting_, std::nullopt)->reply;
      if (reply && !chance(drop_reply)) return reply;
      ++out_.retries;
      force_leader_change(*leader);
    }
    return std::nullopt;
  }

 private:
  struct Waiting {
    NodeName node;
    Index index;
    Term term;
    std::optional<RouteResult> reply;
  };

  void observe(const NodeName& node, const Applied& applied) {
    if (!is_routed(applied.command)) return;
    const auto entry = decode_routed(applied.command);
    const auto result = decode_route_result(applied.result);
    if (entry.kind == RoutedKind::command && result.status == RouteStatus::ok) {
      ++out_.runs[{node, entry.seq}];
      out_.first_result.emplace(entry.seq, result.payload);
    }
    if (waiting_ && waiting_->node == node && waiting_->index == applied.index && waiting_->term == applied.term) {
      waiting_->reply = result;
    }
  }

  void force_leader_change(const NodeName& leader) {
    ++out_.leader_changes;
    if (chance(0.5)) {
      cluster_.transfer_leadership();
      cluster_.run_for(100ms);
    } else {
      // The leader is cut off long enough for the others to elect another.
      cluster_.partition({{leader}});
      cluster_.run_for(600ms);
      cluster_.heal();
    }
  }

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(cluster_.rng()) < p; }

  Cluster& cluster_;
  Outcome& out_;
  std::optional<Waiting> waiting_;
};

Outcome run_workload(std::uint64_t seed, bool deduplicate) {
  ClusterOptions options;
  options.network.loss = 0.05;
  options.network.duplicate = 0.05;
  options.router.deduplicate = deduplicate;
  Cluster cluster(seed, options);
  for (const auto& name : kNodes) cluster.add_node(name);
  cluster.bootstrap(kNodes);
  Outcome out;
  RetryingClient client(cluster, out);

  RoutedEntry open;
  open.kind = RoutedKind::register_session;
  const auto registered = client.run(open, 0.0);
  if (!registered || registered->status != RouteStatus::registered) {
    throw std::runtime_error("the session was never registered");
  }
  const auto id = std::stoull(registered->payload);
  constexpr std::uint64_t kCommands = 40;
  for (std::uint64_t seq = 1; seq <= kCommands; ++seq) {
    RoutedEntry entry;
    entry.client = id;
    entry.seq = seq;
    entry.acked = seq - 1;
    entry.machine = "kv";
    // Every put to one key returns the previous value: a command run twice
    // changes the results the client sees.
    entry.payload = kv_put("counter", std::to_string(seq));
    auto reply = client.run(entry, 0.3);
    if (!reply) {
      out.all_answered = false;
      continue;
    }
    ++out.commands;
    out.client_saw[seq] = reply->payload;
  }
  // Let every node catch up before counting.
  if (!cluster.converge(10s)) throw std::runtime_error("the cluster did not converge");
  return out;
}

TEST(ExactlyOnceSimulation, RetriedCommandsApplyOnceOnEveryNode) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto out = run_workload(seed, true);
    ASSERT_TRUE(out.all_answered) << "seed " << seed;
    EXPECT_GT(out.retries, 5u) << "seed " << seed << ": the workload must retry";
    EXPECT_GT(out.leader_changes, 5u) << "seed " << seed;
    for (const auto& node : kNodes) {
      for (std::uint64_t seq = 1; seq <= out.commands; ++seq) {
        auto it = out.runs.find({node, seq});
        EXPECT_EQ(it == out.runs.end() ? 0 : it->second, 1) << "seed " << seed << " node " << node << " seq " << seq;
      }
    }
    // A retry's answer is the first run's result, not a second run's.
    for (const auto& [seq, saw] : out.client_saw) {
      EXPECT_EQ(saw, out.first_result.at(seq)) << "seed " << seed << " seq " << seq;
    }
    std::cout << "exactly_once seed=" << seed << " commands=" << out.commands << " retries=" << out.retries
              << " leader_changes=" << out.leader_changes << "\n";
  }
}

TEST(ExactlyOnceSimulation, WithoutDeduplicationTheSameWorkloadRunsCommandsTwice) {
  std::size_t twice = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto out = run_workload(seed, false);
    for (const auto& [key, runs] : out.runs) twice += runs > 1 ? 1 : 0;
  }
  EXPECT_GT(twice, 0u) << "retries never reached the log twice: the exactly-once test would prove nothing";
}

}  // namespace
}  // namespace idunno::raft::sim
