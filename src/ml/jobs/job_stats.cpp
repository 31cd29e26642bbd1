#include "ml/jobs/job_stats.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace idunno::ml::jobs {

void JobStats::add_batch(core::TimePoint at, std::uint64_t queries, core::Duration batch_time) {
  if (queries == 0) return;
  if (batch_time.count() < 0) throw std::invalid_argument("a batch cannot take negative time");
  // Keep the window ordered by time: late arrivals go to their place.
  auto position = std::upper_bound(window_.begin(), window_.end(), at,
                                   [](core::TimePoint t, const auto& entry) { return t < entry.first; });
  window_.insert(position, {at, queries});
  window_queries_ += queries;

  histogram_[batch_time.count()] += queries;
  const double x = static_cast<double>(batch_time.count());
  const double weight = static_cast<double>(queries);
  const double total = static_cast<double>(count_) + weight;
  const double delta = x - mean_ns_;
  mean_ns_ += delta * weight / total;
  m2_ += delta * (x - mean_ns_) * weight;
  count_ += queries;
}

void JobStats::expire(core::TimePoint now) {
  while (!window_.empty() && window_.front().first <= now - kRateWindow) {
    window_queries_ -= window_.front().second;
    window_.pop_front();
  }
}

std::uint64_t JobStats::queries_in_window(core::TimePoint now) {
  expire(now);
  std::uint64_t in = window_queries_;
  // Completions stamped after `now` (a worker's clock ahead) do not count yet.
  for (auto it = window_.rbegin(); it != window_.rend() && it->first > now; ++it) in -= it->second;
  return in;
}

std::uint64_t JobStats::count_in_window(core::TimePoint now) const {
  std::uint64_t in = 0;
  for (const auto& [at, queries] : window_) {
    if (at > now - kRateWindow && at <= now) in += queries;
  }
  return in;
}

double JobStats::rate_at(core::TimePoint now) const {
  return static_cast<double>(count_in_window(now)) / std::chrono::duration<double>(kRateWindow).count();
}

double JobStats::rate(core::TimePoint now) {
  const double seconds = std::chrono::duration<double>(kRateWindow).count();
  return static_cast<double>(queries_in_window(now)) / seconds;
}

std::vector<std::uint64_t> JobStats::counts_at_most(const std::vector<double>& bounds_s) const {
  std::vector<std::uint64_t> out(bounds_s.size(), 0);
  for (const auto& [ns, queries] : histogram_) {
    const double seconds = static_cast<double>(ns) / 1e9;
    for (std::size_t i = 0; i < bounds_s.size(); ++i) {
      if (seconds <= bounds_s[i]) out[i] += queries;
    }
  }
  return out;
}

double JobStats::percentile_ms(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 1.0);
  const double h = static_cast<double>(count_ - 1) * p;
  const auto lower_rank = static_cast<std::uint64_t>(std::floor(h));  // 0-based
  const double fraction = h - static_cast<double>(lower_rank);
  // The values at ranks lower_rank and lower_rank + 1.
  double lower = 0;
  double upper = 0;
  bool have_lower = false;
  std::uint64_t seen = 0;
  for (const auto& [value, queries] : histogram_) {
    seen += queries;
    if (!have_lower && seen > lower_rank) {
      lower = static_cast<double>(value);
      have_lower = true;
    }
    if (have_lower && seen > lower_rank + 1) {
      upper = static_cast<double>(value);
      break;
    }
    upper = static_cast<double>(value);  // the last value, if rank + 1 is past the end
  }
  return (lower + fraction * (upper - lower)) / 1e6;
}

ProcessingStats JobStats::processing() const {
  ProcessingStats s;
  s.count = count_;
  if (count_ == 0) return s;
  s.avg_ms = mean_ns_ / 1e6;
  s.std_ms = std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_))) / 1e6;
  s.p50_ms = percentile_ms(0.50);
  s.p90_ms = percentile_ms(0.90);
  s.p95_ms = percentile_ms(0.95);
  s.p99_ms = percentile_ms(0.99);
  return s;
}

namespace {

std::int64_t integer_of(const boost::json::value& value) {
  if (!value.is_int64() && !value.is_uint64()) throw std::invalid_argument("job stats: not an integer");
  return value.to_number<std::int64_t>();
}

}  // namespace

boost::json::value JobStats::to_json() const {
  boost::json::array window;
  for (const auto& [at, queries] : window_)
    window.push_back(boost::json::array{at.time_since_epoch().count(), queries});
  boost::json::array histogram;
  for (const auto& [ns, queries] : histogram_) histogram.push_back(boost::json::array{ns, queries});
  return boost::json::object{{"window", std::move(window)},
                             {"histogram", std::move(histogram)},
                             {"count", count_},
                             {"mean_ns", mean_ns_},
                             {"m2", m2_}};
}

JobStats JobStats::from_json(const boost::json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) throw std::invalid_argument("job stats: not an object");
  JobStats out;
  try {
    for (const auto& entry : o->at("window").as_array()) {
      const auto& pair = entry.as_array();
      const auto queries = static_cast<std::uint64_t>(integer_of(pair.at(1)));
      out.window_.emplace_back(core::TimePoint(core::Duration(integer_of(pair.at(0)))), queries);
      out.window_queries_ += queries;
    }
    for (const auto& entry : o->at("histogram").as_array()) {
      const auto& pair = entry.as_array();
      out.histogram_[integer_of(pair.at(0))] = static_cast<std::uint64_t>(integer_of(pair.at(1)));
    }
    out.count_ = static_cast<std::uint64_t>(integer_of(o->at("count")));
    out.mean_ns_ = o->at("mean_ns").to_number<double>();
    out.m2_ = o->at("m2").to_number<double>();
  } catch (const std::exception& error) {
    throw std::invalid_argument(std::string("job stats: ") + error.what());
  }
  return out;
}

}  // namespace idunno::ml::jobs
