#pragma once
// The statistics of one job that `job-rates` and `get-stats` report
// (CONTRACT.md): queries completed over a sliding 10 s window, and the
// processing time of every query the job ever ran.
//
// Why: a query's processing time is the wall time of the batch that
// carried it, so a batch of B queries adds B equal samples. Percentiles
// must be over all of a job's queries, not over batches or a recent
// sample, so the full distribution is kept as a histogram of exact batch
// times (one entry per distinct duration, each with its query count):
// memory grows with distinct batch times, never with queries. Mean and
// variance use Welford's weighted update (numerically stable).
//
// Definitions: std is the population standard deviation over all queries;
// percentile p is numpy's default ("linear"): with the N query times
// sorted, x[h] at h = (N - 1) * p, interpolating between neighbours, so
// the median of an even count is the mean of the middle two.
//
// Sans-I/O: time comes in as arguments. Not thread-safe; owned by the
// scheduler on the event loop.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "core/clock.hpp"

namespace idunno::ml::jobs {

inline constexpr core::Duration kRateWindow = std::chrono::seconds(10);

// get-stats for one job, in milliseconds (all zero when count is 0).
struct ProcessingStats {
  std::uint64_t count = 0;
  double avg_ms = 0;
  double std_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

class JobStats {
 public:
  // A batch of `queries` queries completed at `at`, taking `batch_time`.
  // Completions may arrive slightly out of order (from several workers).
  void add_batch(core::TimePoint at, std::uint64_t queries, core::Duration batch_time);

  // Queries completed in (now - 10 s, now], divided by 10 (queries/s).
  // `now` must not go backwards between calls.
  double rate(core::TimePoint now);
  std::uint64_t queries_in_window(core::TimePoint now);
  // The same without forgetting anything (for const readers).
  std::uint64_t count_in_window(core::TimePoint now) const;
  double rate_at(core::TimePoint now) const;

  // Every query so far.
  std::uint64_t done() const { return count_; }
  ProcessingStats processing() const;
  // The p-quantile (0 <= p <= 1) of query processing times, in ms.
  double percentile_ms(double p) const;
  // Queries whose processing time was at most each of `bounds_s`
  // (seconds, ascending), and the sum of all processing times (seconds):
  // the job's Prometheus histogram.
  std::vector<std::uint64_t> counts_at_most(const std::vector<double>& bounds_s) const;
  double total_seconds() const { return mean_ns_ * static_cast<double>(count_) / 1e9; }

  // Forgets window entries at or before `now` - 10 s (rate() does this
  // too); a replicated copy calls it as its stamped time advances.
  void prune(core::TimePoint now) { expire(now); }

  // Everything, for a snapshot: equal statistics give equal values.
  boost::json::value to_json() const;
  // Throws std::invalid_argument on a value of the wrong shape.
  static JobStats from_json(const boost::json::value& value);
  bool operator==(const JobStats&) const = default;

 private:
  void expire(core::TimePoint now);

  // Completions inside the window, oldest first, and their sum.
  std::deque<std::pair<core::TimePoint, std::uint64_t>> window_;
  std::uint64_t window_queries_ = 0;
  // Batch time (ns) -> queries that took it.
  std::map<std::int64_t, std::uint64_t> histogram_;
  std::uint64_t count_ = 0;
  double mean_ns_ = 0;
  double m2_ = 0;  // sum of squared deviations (ns^2), Welford
};

}  // namespace idunno::ml::jobs
