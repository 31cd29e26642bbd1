#pragma once
// The replicated state machine interface that SDFS, the scheduler and the
// test key-value store plug into.
//
// Why: the core orders commands; what they mean is the state machine's
// business. apply() must be deterministic (same commands in the same order
// give the same results and state on every node) and must not throw: a
// command it cannot execute returns an error result. snapshot() captures the
// state after the last applied command; restore() replaces the state with a
// snapshot's; restore("") gives the empty state (a machine a snapshot does
// not mention had no commands yet). query() answers a read-only question
// from the current state (ReadIndex reads run it once the state is recent
// enough); machines without queries keep the default, which throws.
//
// Threading contract: apply() and restore() are called only from the thread
// that runs the core (the event loop). snapshot() may be called from another
// thread (the Raft driver's disk thread, so that serializing a large state
// never stalls the loop); while it runs, the core applies nothing and
// restores nothing (committed entries wait), but the loop may go on calling
// the machine's const methods (query() for reads). So snapshot() and the
// const methods must be safe to run concurrently with each other: they must
// not mutate shared state (no caches filled lazily, no non-atomic counters),
// and must not touch the event loop's objects.

#include <stdexcept>
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
  virtual std::string query(std::string_view /*query*/) const {
    throw std::logic_error("this state machine answers no queries");
  }
};

}  // namespace idunno::raft
