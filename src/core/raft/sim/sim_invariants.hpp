#pragma once
// The safety properties every simulated run checks after every step.
//
// Why: a property checked continuously pinpoints the step that broke it
// instead of finding damage at the end. Checked here:
//  - election safety: at most one leader per term;
//  - state machine safety: an entry committed anywhere never changes, and
//    every new leader holds every committed entry (leader completeness);
//  - applied prefix: at every applied index, every node's digest of the
//    applied commands is the same;
//  - fsync before acknowledge: a granted vote or an accepted AppendEntries
//    leaves a node only when the state it vouches for is durable.
// Violations throw InvariantViolation. Test-only, single-threaded.

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "core/raft/memory_storage.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft::sim {

class InvariantViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Invariants {
 public:
  void on_leader(const NodeName& node, Term term) {
    auto [it, fresh] = leaders_.emplace(term, node);
    if (!fresh && it->second != node) {
      fail("two leaders in term " + std::to_string(term) + ": " + it->second + " and " + node);
    }
  }

  // A new leader must hold every entry committed in an earlier term that it
  // has not compacted away. (A leader of an older term than the one that
  // committed an entry may still win late: its vote replies were delayed.
  // It cannot commit anything, since a majority has moved on.)
  void check_leader_completeness(const RaftNode& leader) {
    for (auto it = committed_.upper_bound(leader.log().start_index()); it != committed_.end(); ++it) {
      if (it->second.in_term >= leader.term()) continue;
      auto term = leader.log().term_at(it->first);
      if (!term || *term != it->second.term) {
        fail("leader " + leader.name() + " of term " + std::to_string(leader.term()) + " lacks committed entry " +
             std::to_string(it->first));
      }
    }
  }

  // Records the entries `node` considers committed and checks them against
  // what was committed before. `checked` is the node's progress so far.
  void check_committed(const RaftNode& node, Index& checked) {
    if (node.commit_index() < checked) fail(node.name() + " commit index went backwards");
    for (Index i = std::max(checked, node.log().start_index()) + 1; i <= node.commit_index(); ++i) {
      const auto& entry = node.log().at(i);
      Committed value{entry.term, entry.type, entry.data, node.term()};
      auto [it, fresh] = committed_.emplace(i, value);
      if (!fresh) it->second.in_term = std::min(it->second.in_term, node.term());
      if (!fresh && !it->second.same_entry(value)) {
        fail(node.name() + " committed a different entry at index " + std::to_string(i) + " (term " +
             std::to_string(entry.term) + " vs " + std::to_string(it->second.term) + ")");
      }
    }
    checked = node.commit_index();
  }

  void on_applied(const NodeName& node, Index index, std::uint64_t digest) {
    auto [it, fresh] = digests_.emplace(index, digest);
    if (!fresh && it->second != digest) {
      fail(node + " applied a different history up to index " + std::to_string(index));
    }
  }

  // Checks a message about to leave `node` against its durable state.
  void check_durable_before_send(const RaftNode& node, const MemoryStorage& storage, const Message& message) {
    const auto& durable = storage.durable();
    if (const auto* vote = std::get_if<VoteReply>(&message.payload); vote && vote->granted && !vote->pre_vote) {
      const auto& hard = durable.hard_state;
      if (hard.term < vote->term || (hard.term == vote->term && hard.vote != message.to)) {
        fail(node.name() + " granted a vote in term " + std::to_string(vote->term) + " before persisting it");
      }
    }
    if (const auto* reply = std::get_if<AppendReply>(&message.payload);
        reply && reply->success && node.term() == reply->term) {
      if (storage.durable_last_index() < reply->match_index) {
        fail(node.name() + " acknowledged entries up to " + std::to_string(reply->match_index) +
             " before persisting them");
      }
      // Committed entries found durable once stay so (a crash loses only
      // unsynced writes; committed entries are never truncated): each reply
      // checks only what lies beyond them.
      Index& verified = verified_[node.name()];
      const Index from = std::max({durable.log_start, node.log().start_index(), verified});
      for (Index i = from + 1; i <= reply->match_index; ++i) {
        if (durable.entries[i - durable.log_start - 1].term != node.log().term_at(i)) {
          fail(node.name() + " acknowledged entry " + std::to_string(i) + " that differs on disk");
        }
      }
      verified = std::max(verified, std::min(reply->match_index, node.commit_index()));
    }
  }

  const std::map<Term, NodeName>& leaders() const { return leaders_; }
  std::size_t committed_count() const { return committed_.size(); }

 private:
  struct Committed {
    Term term;
    EntryType type;
    std::string data;
    Term in_term;  // the earliest term in which a node knew it committed
    bool same_entry(const Committed& o) const { return term == o.term && type == o.type && data == o.data; }
  };

  [[noreturn]] static void fail(const std::string& what) { throw InvariantViolation(what); }

  std::map<Term, NodeName> leaders_;
  std::map<Index, Committed> committed_;
  std::map<Index, std::uint64_t> digests_;
  std::map<NodeName, Index> verified_;
};

}  // namespace idunno::raft::sim
