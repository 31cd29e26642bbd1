#pragma once
// Router: the one StateMachine the Raft core sees, hosting several named
// state machines and the client sessions that make commands exactly-once.
//
// Why: the coordinator's replicated state is several machines (the
// key-value store now; SDFS metadata and the scheduler next) behind one log
// and one snapshot. Each command entry (routed_entry.hpp) names its machine
// and carries a client id and sequence number; the router keeps, in the
// replicated state, each session's results that the client has not yet
// acknowledged, so a command retried after a leader change returns the
// cached result instead of running again (Raft thesis section 6.3).
// Sessions are opened through the log (the client id is the index of the
// register entry) and expire deterministically: by the leader's time stamped
// in the entries (the largest seen so far), never by a local clock. The
// snapshot is one versioned composite: the cluster time, the session table
// and every machine's own snapshot by name.
//
// Entries that are not routed (a bare key-value command, as logs held before
// routing existed) go to the machine named by RouterOptions::legacy_machine,
// without a session. Machines are registered with add() before the core is
// built and outlive the router. Called only from the thread that runs the
// core, except snapshot(), which is a pure const read (see StateMachine).

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/raft/routed_entry.hpp"
#include "core/raft/state_machine.hpp"

namespace idunno::raft {

// Part of the replicated state's definition: every node must use the same.
struct RouterOptions {
  // A session with no command for this long (in stamped time) is expired.
  std::chrono::milliseconds session_timeout{std::chrono::hours(1)};
  // Off only to show, in tests, what deduplication prevents.
  bool deduplicate = true;
  std::string legacy_machine = "kv";
};

// A read named a machine the router does not host.
class UnknownMachine : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Router final : public StateMachine {
 public:
  struct Session {
    std::uint64_t last_active_ms = 0;
    std::uint64_t acked = 0;                       // results up to here are dropped
    std::map<std::uint64_t, std::string> results;  // by seq, each above `acked`
    bool operator==(const Session&) const = default;
  };

  explicit Router(RouterOptions options = {});

  // Hosts `machine` under `name` (unique, not empty). Before the first apply.
  void add(std::string name, StateMachine& machine);
  StateMachine* machine(std::string_view name) const;

  // Returns an encoded RouteResult (routed entries) or the legacy machine's
  // own result (bare entries).
  std::string apply(Index index, std::string_view entry) override;
  std::string snapshot() const override;
  void restore(std::string_view snapshot) override;

  // The machine's answer to a read-only query; throws UnknownMachine.
  std::string query_machine(std::string_view machine, std::string_view query) const;

  const std::map<std::uint64_t, Session>& sessions() const { return sessions_; }
  std::uint64_t cluster_time_ms() const { return cluster_time_ms_; }
  const std::string& legacy_machine() const { return options_.legacy_machine; }

 private:
  RouteResult apply_routed(Index index, const RoutedEntry& entry);
  void expire_sessions();

  RouterOptions options_;
  std::map<std::string, StateMachine*, std::less<>> machines_;
  std::map<std::uint64_t, Session> sessions_;
  std::uint64_t cluster_time_ms_ = 0;
};

}  // namespace idunno::raft
