#pragma once
// Helpers for the namespace tests: apply a command and decode its result,
// run a whole put. Test-only.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs/namespace.hpp"

namespace idunno::fs::test {

inline SdfsResult run(Namespace& ns, std::string_view command) {
  static raft::Index index = 0;
  return decode_sdfs_result(ns.apply(++index, command));
}

inline SdfsQueryResult ask(const Namespace& ns, std::string_view query) {
  return decode_sdfs_query_result(ns.query(query));
}

// Begin then Commit on `replicas`; the new version (0 if either failed).
inline std::uint64_t put(Namespace& ns, std::string_view name, const std::vector<std::string>& replicas,
                         std::uint32_t max_versions = 5, std::uint64_t size = 10, std::uint64_t checksum = 99) {
  const auto begun = run(ns, sdfs_begin(name, size, checksum, replicas));
  if (!begun.ok()) return 0;
  const auto committed = run(ns, sdfs_commit(name, begun.version, replicas, max_versions));
  return committed.ok() ? begun.version : 0;
}

inline std::vector<std::uint64_t> numbers(const std::vector<VersionEntry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.version);
  return out;
}

}  // namespace idunno::fs::test
