#pragma once
// The plain copies of gzip'd datasets that jobs read their shards from
// (".idunno/inflated/NAME@vV", made by JobService::inflated), and which of
// them are garbage.
//
// Why: a copy is made once per source version and reused by every later
// job over that version; once the version is gone (deleted, or pruned by
// sdfs.max_versions) no new job can name it, and its copy would only take
// disk on four nodes for ever. The coordinator removes such copies
// (JobService::sweep_inflated) unless a job that has not ended still reads
// one. Pure, so the rules are tested without a cluster.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::cli {

inline constexpr std::string_view kInflatedPrefix = ".idunno/inflated/";

// Where the plain copy of SDFS file `name` at `version` is kept.
std::string inflated_name(const std::string& name, std::uint64_t version);

struct InflatedSource {
  std::string name;
  std::uint64_t version = 0;
  bool operator==(const InflatedSource&) const = default;
};
// The source of copy `copy`; nullopt for a name that is not a copy's.
std::optional<InflatedSource> source_of_inflated(std::string_view copy);

// The copies among `copies` to remove: each is a copy's name, its source
// version does not exist (`exists` says, for name and version), and it is
// not in `in_use` (read by a job that has not ended).
std::vector<std::string> stale_inflated_copies(const std::vector<std::string>& copies,
                                               const std::function<bool(const InflatedSource&)>& exists,
                                               const std::set<std::string>& in_use);

}  // namespace idunno::cli
