#pragma once
// Storage in memory that can crash: the simulation's disk.
//
// Why: deterministic tests must lose exactly what a real crash may lose.
// Writes since the last sync() are pending; crash() keeps a random prefix of
// the pending log writes (a torn tail) and a random one of the pending hard
// states, and drops the rest. durable() lets invariant checks verify that
// nothing was acknowledged before it was synced. Not thread-safe; owned by
// the simulated node and its test.

#include <cstdint>
#include <random>
#include <variant>
#include <vector>

#include "core/raft/storage.hpp"

namespace idunno::raft {

class MemoryStorage final : public Storage {
 public:
  State load() override { return durable_; }
  void save_hard_state(const HardState& state) override;
  void append(const std::vector<LogEntry>& entries) override;
  void truncate_after(Index last_kept) override;
  void sync() override;
  void save_snapshot(const Snapshot& snapshot) override;
  void compact(Index upto, Term upto_term) override;
  void reset_log(Index start, Term start_term) override;

  // Loses unsynced writes as a power cut could.
  void crash(std::mt19937_64& rng);

  const State& durable() const { return durable_; }
  // Last index of the durable log.
  Index durable_last_index() const { return durable_.log_start + durable_.entries.size(); }
  std::uint64_t sync_count() const { return syncs_; }

 private:
  struct Truncate {
    Index last_kept;
  };
  using LogOp = std::variant<std::vector<LogEntry>, Truncate>;

  static void apply(State& state, const LogOp& op);

  State durable_;
  std::vector<LogOp> pending_log_;
  std::vector<HardState> pending_hard_;
  Index written_last_ = 0;  // last index including pending writes
  std::uint64_t syncs_ = 0;
};

}  // namespace idunno::raft
