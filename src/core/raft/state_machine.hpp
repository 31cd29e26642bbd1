#pragma once
// The replicated state machine interface that SDFS, the scheduler and the
// test key-value store plug into.
//
// Why: the core orders commands; what they mean is the state machine's
// business. apply() must be deterministic (same commands in the same order
// give the same results and state on every node) and must not throw: a
// command it cannot execute returns an error result. snapshot() captures the
// state after the last applied command; restore() replaces the state with a
// snapshot's. Called only from the thread that runs the core.

#include <string>
#include <string_view>

#include "core/raft/types.hpp"

namespace idunno::raft {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual std::string apply(Index index, std::string_view command) = 0;
  virtual std::string snapshot() const = 0;
  virtual void restore(std::string_view snapshot) = 0;
};

}  // namespace idunno::raft
