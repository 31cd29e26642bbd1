#pragma once
// A registry of metric providers rendered in the Prometheus text format.
//
// Why: each service keeps its own counters in plain fields (no locks: they
// live on the event loop) and registers a provider that writes them out when
// /metrics is scraped. Owned by the Node; use from the event loop only.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace idunno::core {

// A histogram as Prometheus shows it: cumulative counts at upper bounds.
struct HistogramValue {
  std::vector<std::pair<double, std::uint64_t>> buckets;  // (le, count <= le), ascending le
  double sum = 0;
  std::uint64_t count = 0;  // also the +Inf bucket
};

class MetricsWriter {
 public:
  // `name` without the "idunno_" prefix; labels as {{"job","a"}}.
  void counter(const std::string& name, const std::string& help, double value,
               const std::map<std::string, std::string>& labels = {});
  void gauge(const std::string& name, const std::string& help, double value,
             const std::map<std::string, std::string>& labels = {});
  // Writes NAME_bucket{le=...}, NAME_sum and NAME_count.
  void histogram(const std::string& name, const std::string& help, const HistogramValue& value,
                 const std::map<std::string, std::string>& labels = {});
  std::string str() const;

 private:
  void sample(const std::string& type, const std::string& name, const std::string& help, double value,
              const std::map<std::string, std::string>& labels);
  void line(const std::string& family, const std::string& name, const std::map<std::string, std::string>& labels,
            double value);
  // Grouped by metric so HELP/TYPE appear once each.
  std::map<std::string, std::string> headers_;
  std::map<std::string, std::vector<std::string>> samples_;
};

class MetricsRegistry {
 public:
  using Provider = std::function<void(MetricsWriter&)>;
  void add(Provider provider) { providers_.push_back(std::move(provider)); }
  std::string render() const;

 private:
  std::vector<Provider> providers_;
};

}  // namespace idunno::core
