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

class MetricsWriter {
 public:
  // `name` without the "idunno_" prefix; labels as {{"job","a"}}.
  void counter(const std::string& name, const std::string& help, double value,
               const std::map<std::string, std::string>& labels = {});
  void gauge(const std::string& name, const std::string& help, double value,
             const std::map<std::string, std::string>& labels = {});
  std::string str() const;

 private:
  void sample(const std::string& type, const std::string& name, const std::string& help, double value,
              const std::map<std::string, std::string>& labels);
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
