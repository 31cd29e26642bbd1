#pragma once
// Fencing of coordinator commands by term.
//
// Why: a deposed coordinator may still send commands for a while (it has not
// heard of its successor yet). Every coordinator command carries the term of
// the leader that sent it; a node admits a command only if its term is at
// least the highest it has seen, so once a node has heard from the new
// coordinator, the old one can no longer move it. Owned by the service that
// receives coordinator commands; touched only from its event loop.

#include "core/raft/types.hpp"

namespace idunno::raft {

class Fence {
 public:
  // True when `term` is the highest seen so far or equal to it (and
  // remembers it); false for a command from an older term.
  bool admit(Term term) {
    if (term < highest_) return false;
    highest_ = term;
    return true;
  }

  // Raises the bar without a command (e.g. from the local Raft term).
  void observe(Term term) {
    if (term > highest_) highest_ = term;
  }

  Term highest() const { return highest_; }

 private:
  Term highest_ = 0;
};

}  // namespace idunno::raft
