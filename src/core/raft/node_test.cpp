// Directed tests of RaftNode behaviours that users rely on: election of a
// single voter, pre-vote and leader lease against disruption, check-quorum,
// redirects, recovery from storage, leadership transfer.

#include "core/raft/node.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/raft/kv_state_machine.hpp"
#include "core/raft/memory_storage.hpp"

namespace idunno::raft {
namespace {

using namespace std::chrono_literals;

// A few nodes whose messages the test delivers by hand.
class Group {
 public:
  explicit Group(std::vector<NodeName> names) {
    Configuration config;
    for (const auto& n : names) config.voters.emplace(n, "");
    std::uint64_t seed = 1;
    for (const auto& n : names) {
      auto& m = members_[n];
      m.raft = std::make_unique<RaftNode>(n, RaftConfig{}, m.storage, m.kv, clock_, seed++);
      m.raft->bootstrap(config);
    }
  }

  RaftNode& operator[](const NodeName& n) { return *members_.at(n).raft; }
  KvStateMachine& kv(const NodeName& n) { return members_.at(n).kv; }

  // Recreates a node from its storage, as after a restart.
  void restart(const NodeName& n) {
    auto& m = members_.at(n);
    m.raft.reset();
    m.kv = KvStateMachine{};
    m.raft = std::make_unique<RaftNode>(n, RaftConfig{}, m.storage, m.kv, clock_, 99);
  }

  void isolate(const NodeName& n) { isolated_.insert(n); }
  void heal() { isolated_.clear(); }

  // Flushes every node and delivers messages until none are left.
  void settle() {
    for (int round = 0; round < 1000; ++round) {
      std::vector<Message> messages;
      for (auto& [name, m] : members_) {
        auto ready = m.raft->flush();
        for (auto& r : ready.reads) reads_[name].push_back(r);
        for (auto& a : ready.applied) applied_[name].push_back(a);
        for (auto& e : ready.events) events_[name].push_back(e);
        for (auto& msg : ready.messages) messages.push_back(std::move(msg));
      }
      if (messages.empty()) return;
      for (const auto& msg : messages) {
        // A name without a member is a node that never answers.
        if (isolated_.contains(msg.from) || isolated_.contains(msg.to) || !members_.contains(msg.to)) continue;
        members_.at(msg.to).raft->step(msg);
      }
    }
    FAIL() << "messages never settled";
  }

  // Moves time forward in 5 ms steps, ticking and settling.
  void run(core::Duration duration) {
    const auto end = clock_.now() + duration;
    while (clock_.now() < end) {
      clock_.advance(5ms);
      for (auto& [name, m] : members_) m.raft->tick();
      settle();
    }
  }

  // Moves time forward and ticks every node, delivering nothing.
  void tick(core::Duration duration) {
    clock_.advance(duration);
    for (auto& [name, m] : members_) m.raft->tick();
  }

  std::optional<NodeName> leader() {
    for (auto& [name, m] : members_) {
      if (m.raft->role() == Role::leader) return name;
    }
    return std::nullopt;
  }

  std::vector<Applied>& applied(const NodeName& n) { return applied_[n]; }
  std::vector<ReadState>& reads(const NodeName& n) { return reads_[n]; }
  // The events of `kind` that node `n` reported so far.
  std::vector<Event> events(const NodeName& n, EventKind kind) {
    std::vector<Event> out;
    for (const auto& e : events_[n]) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

 private:
  struct Member {
    MemoryStorage storage;
    KvStateMachine kv;
    std::unique_ptr<RaftNode> raft;
  };
  core::FakeClock clock_;
  std::map<NodeName, Member> members_;
  std::set<NodeName> isolated_;
  std::map<NodeName, std::vector<Applied>> applied_;
  std::map<NodeName, std::vector<ReadState>> reads_;
  std::map<NodeName, std::vector<Event>> events_;
};

TEST(RaftNode, SingleVoterElectsItselfAndCommitsOnFlush) {
  Group g({"a"});
  g.run(400ms);
  ASSERT_EQ(g["a"].role(), Role::leader);
  auto p = g["a"].propose(kv_put("k", "v"));
  ASSERT_TRUE(p.accepted);
  g.settle();
  ASSERT_EQ(g.applied("a").size(), 1u);
  EXPECT_EQ(g.applied("a")[0].index, p.index);
  EXPECT_EQ(g.kv("a").get("k"), "v");
}

// The failover benchmark measures "kill -> new leader committing" by this
// event: once per leadership term, when the first entry of that term commits.
TEST(RaftNode, LeaderReportsCommittingOncePerTerm) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto first = *g.leader();
  auto committing = g.events(first, EventKind::leader_committing);
  ASSERT_EQ(committing.size(), 1u);
  EXPECT_EQ(committing[0].term, g[first].term());
  EXPECT_GT(committing[0].index, 0u);
  EXPECT_LE(committing[0].index, g[first].commit_index());
  ASSERT_TRUE(g[first].propose(kv_put("k", "v")).accepted);
  g.settle();
  EXPECT_EQ(g.events(first, EventKind::leader_committing).size(), 1u);  // not again in the same term

  g.isolate(first);
  g.run(3s);
  const auto second = *g.leader();
  ASSERT_NE(second, first);
  committing = g.events(second, EventKind::leader_committing);
  ASSERT_EQ(committing.size(), 1u);
  EXPECT_EQ(committing[0].term, g[second].term());
  EXPECT_GT(committing[0].term, g[first].term());
}

// After a stall, the replies to a request and to its resends arrive one
// after another. Each used to send the next request although a newer one
// was still out, so every request queued during a stall got a duplicate.
TEST(RaftNode, AReplyToAnOlderRequestWhileItsResendIsOutSendsNothingMore) {
  Group g({"a", "b"});
  g.run(600ms);
  const NodeName leader = *g.leader();
  const NodeName follower = leader == "a" ? "b" : "a";
  const auto appends = [&](const Ready& ready) {
    std::vector<Message> out;
    for (const auto& m : ready.messages) {
      if (m.to == follower && std::holds_alternative<AppendRequest>(m.payload)) out.push_back(m);
    }
    return out;
  };
  const auto answer = [&](const Message& request) {
    g[follower].step(request);
    for (const auto& reply : g[follower].flush().messages) g[leader].step(reply);
  };
  ASSERT_TRUE(g[leader].propose(kv_put("k", "1")).accepted);
  const auto first = appends(g[leader].flush());
  ASSERT_EQ(first.size(), 1u);
  // Unanswered for a heartbeat: resent, now with the next entry too.
  ASSERT_TRUE(g[leader].propose(kv_put("k", "2")).accepted);
  g.tick(RaftConfig{}.heartbeat);
  const auto resent = appends(g[leader].flush());
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(std::get<AppendRequest>(resent[0].payload).entries.size(), 2u);

  answer(first[0]);
  EXPECT_TRUE(appends(g[leader].flush()).empty()) << "sent a duplicate of the request still out";
  answer(resent[0]);
  EXPECT_TRUE(appends(g[leader].flush()).empty());
  EXPECT_EQ(g[leader].commit_index(), g[leader].last_index());
}

TEST(RaftNode, FollowerRedirectsProposalsToTheLeader) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  auto leader = g.leader();
  ASSERT_TRUE(leader);
  const NodeName follower = *leader == "a" ? "b" : "a";
  auto p = g[follower].propose(kv_put("k", "v"));
  EXPECT_FALSE(p.accepted);
  EXPECT_EQ(p.leader_hint, leader);
}

TEST(RaftNode, IsolatedVoterDoesNotDisruptWhenItReturns) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  const Term term = g[leader].term();
  const NodeName outcast = leader == "c" ? "b" : "c";
  g.isolate(outcast);
  g.run(3s);
  // Pre-vote failed again and again, so its term never moved.
  EXPECT_EQ(g[outcast].term(), term);
  g.heal();
  g.run(1s);
  EXPECT_EQ(g.leader(), leader);
  EXPECT_EQ(g[leader].term(), term);
  EXPECT_EQ(g[outcast].leader(), leader);
}

TEST(RaftNode, FollowerThatHearsItsLeaderRefusesPreVotes) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  const NodeName voter = leader == "a" ? "b" : "a";
  const NodeName other = (leader != "c" && voter != "c") ? "c" : "b";
  const Term term = g[voter].term();
  g[voter].step(Message{other, voter, VoteRequest{term + 1, 100, term, true, false}});
  auto ready = g[voter].flush();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_FALSE(std::get<VoteReply>(ready.messages[0].payload).granted);
  // Even a real vote request of a higher term is ignored under the lease.
  g[voter].step(Message{other, voter, VoteRequest{term + 1, 100, term, false, false}});
  EXPECT_TRUE(g[voter].flush().messages.empty());
  EXPECT_EQ(g[voter].term(), term);
}

TEST(RaftNode, LeaderCutOffFromTheMajorityStepsDown) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto old_leader = *g.leader();
  g.isolate(old_leader);
  g.run(RaftConfig{}.check_quorum + 200ms);  // check-quorum's window, then a check
  EXPECT_NE(g[old_leader].role(), Role::leader);
  EXPECT_FALSE(g[old_leader].propose(kv_put("k", "v")).accepted);
  ASSERT_TRUE(g.leader());
  EXPECT_NE(*g.leader(), old_leader);
}

// Fencing: a term learned from a refused coordinator request deposes a
// leader at once and survives a restart; an older or equal one is ignored.
TEST(RaftNode, ObservedNewerTermDeposesTheLeaderDurably) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  const Term term = g[leader].term();
  g[leader].observe_term(term);
  g[leader].observe_term(term - 1);
  EXPECT_EQ(g[leader].role(), Role::leader);

  g.isolate(leader);  // so that no reply of the others settles it first
  g[leader].observe_term(term + 1);
  EXPECT_NE(g[leader].role(), Role::leader);
  EXPECT_EQ(g[leader].term(), term + 1);
  EXPECT_FALSE(g[leader].propose(kv_put("k", "v")).accepted);
  g.settle();
  const auto downs = g.events(leader, EventKind::step_down);
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].reason, "higher_term_observed");
  g.restart(leader);
  EXPECT_EQ(g[leader].term(), term + 1);
}

TEST(RaftNode, RestartResumesTermVoteLogAndState) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  for (int i = 0; i < 5; ++i) g[leader].propose(kv_put("k" + std::to_string(i), "v"));
  g.settle();
  g.run(100ms);
  const NodeName follower = leader == "a" ? "b" : "a";
  const Term term = g[follower].term();
  const Index last = g[follower].last_index();
  g.restart(follower);
  EXPECT_EQ(g[follower].term(), term);
  EXPECT_EQ(g[follower].last_index(), last);
  EXPECT_EQ(g[follower].role(), Role::follower);
  g.run(200ms);
  EXPECT_EQ(g.kv(follower).contents(), g.kv(leader).contents());
  EXPECT_EQ(g.kv(follower).contents().size(), 5u);
}

TEST(RaftNode, LeadershipTransferIsImmediate) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  const NodeName target = leader == "a" ? "b" : "a";
  ASSERT_TRUE(g[leader].transfer_leadership(target));
  EXPECT_FALSE(g[leader].propose(kv_put("k", "v")).accepted) << "no writes while handing over";
  g.settle();
  EXPECT_EQ(g.leader(), target);
  EXPECT_EQ(g[leader].leader(), target);
}

// A learner becomes a voter only once it has answered and caught up: a
// node membership reports alive but that Raft cannot reach (its connection
// still stuck after a heal) would otherwise join the quorum at once and
// could cost the leader its majority.
TEST(RaftNode, LearnerThatNeverAnswersIsNotPromoted) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  g[leader].set_live_members({{"a", ""}, {"b", ""}, {"c", ""}, {"mute", ""}});
  g.run(2s);
  EXPECT_TRUE(g[leader].configuration().is_learner("mute"));
  EXPECT_FALSE(g[leader].configuration().is_voter("mute"));
  EXPECT_EQ(g.leader(), leader);
}

// Without the cap, such an entry entered the log, and no AppendEntries
// frame could carry it: replication stalled for good.
TEST(RaftNode, OversizedCommandIsRefusedAndReplicationGoesOn) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  const Index last = g[leader].last_index();
  const auto refused = g[leader].propose(std::string(RaftConfig{}.max_entry_bytes + 1, 'x'));
  EXPECT_FALSE(refused.accepted);
  EXPECT_TRUE(refused.too_large);
  EXPECT_EQ(g[leader].last_index(), last) << "the oversized command entered the log";
  EXPECT_TRUE(g[leader].propose(std::string(RaftConfig{}.max_entry_bytes, 'y')).accepted) << "the limit itself fits";
  const auto next = g[leader].propose(kv_put("k", "v"));
  ASSERT_TRUE(next.accepted);
  g.run(100ms);
  for (const auto* n : {"a", "b", "c"}) EXPECT_EQ(g.kv(n).get("k"), "v") << n;
}

TEST(RaftNode, ReadIndexNeedsAMajorityToConfirmLeadership) {
  Group g({"a", "b", "c"});
  g.run(600ms);
  const auto leader = *g.leader();
  g[leader].propose(kv_put("k", "v"));
  g.settle();
  ASSERT_TRUE(g[leader].read_index(1));
  g.settle();
  ASSERT_EQ(g.reads(leader).size(), 1u);
  EXPECT_TRUE(g.reads(leader)[0].ok);
  EXPECT_EQ(g.reads(leader)[0].index, g[leader].commit_index());
  const NodeName follower = leader == "a" ? "b" : "a";
  EXPECT_FALSE(g[follower].read_index(2)) << "a follower must forward reads";

  // Cut off from both followers, the leader never confirms; it fails the
  // read when check-quorum makes it step down.
  g.isolate(leader);
  ASSERT_TRUE(g[leader].read_index(3));
  g.settle();
  EXPECT_EQ(g.reads(leader).size(), 1u);
  g.run(RaftConfig{}.check_quorum + 200ms);
  ASSERT_EQ(g.reads(leader).size(), 2u);
  EXPECT_EQ(g.reads(leader)[1].id, 3u);
  EXPECT_FALSE(g.reads(leader)[1].ok);
}

}  // namespace
}  // namespace idunno::raft
