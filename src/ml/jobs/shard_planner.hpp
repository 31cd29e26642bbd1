#pragma once
// Splits an inference job's queries into shards of whole batches.
//
// Why: a shard is what the scheduler leases to a worker and re-queues when
// the worker dies, and its result must be a deterministic function of the
// shard (DESIGN.md 6): so a shard is a fixed range of query indices cut
// into batches of exactly the job's batch size B, and only the very last
// batch of the job may be short. Shards hold K batches; K comes from the
// job's measured cost so that one shard is a small slice of the fairness
// window even for a slow model (batches_per_shard_for). After `set-batch`,
// the remaining queries are planned again from where the done ones end.
//
// Pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"

namespace idunno::ml::jobs {

struct BatchRange {
  std::size_t begin = 0;  // query indices [begin, end)
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
  friend bool operator==(const BatchRange&, const BatchRange&) = default;
};

struct Shard {
  std::uint64_t id = 0;   // numbered from first_id, in query order
  std::size_t begin = 0;  // query indices [begin, end)
  std::size_t end = 0;
  std::size_t batch_size = 0;
  std::size_t queries() const { return end - begin; }
  // Its batches, in order: all of batch_size except possibly the last.
  std::vector<BatchRange> batches() const;
  std::size_t batch_count() const { return (queries() + batch_size - 1) / batch_size; }
  friend bool operator==(const Shard&, const Shard&) = default;
};

// Queries [begin, end) in shards of `batches_per_shard` batches of
// `batch_size`, ids from `first_id`. Throws std::invalid_argument when
// batch_size or batches_per_shard is 0 or begin > end.
std::vector<Shard> plan_shards(std::size_t begin, std::size_t end, std::size_t batch_size,
                               std::size_t batches_per_shard, std::uint64_t first_id = 0);

// A whole dataset of `queries` queries.
inline std::vector<Shard> plan_shards(std::size_t queries, std::size_t batch_size, std::size_t batches_per_shard) {
  return plan_shards(0, queries, batch_size, batches_per_shard, 0);
}

// How many batches make a shard that takes about `target` on one worker,
// for a job whose batches take `batch_time` (measured; zero or unknown: 1).
// At least 1, at most `max_batches`.
std::size_t batches_per_shard_for(core::Duration batch_time, core::Duration target, std::size_t max_batches = 64);

}  // namespace idunno::ml::jobs
