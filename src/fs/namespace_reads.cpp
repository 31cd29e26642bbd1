// Namespace's read side: the local accessors and query(), which answers the
// same questions from encoded queries behind a ReadIndex.

#include <algorithm>

#include "fs/namespace.hpp"
#include "fs/sdfs_name.hpp"

namespace idunno::fs {

namespace {

SdfsQueryResult query_failure(SdfsStatus status, std::string error) {
  SdfsQueryResult result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

}  // namespace

const FileEntry* Namespace::file(std::string_view name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

std::uint64_t Namespace::next_version(std::string_view name) const {
  const auto* entry = file(name);
  return entry ? entry->next_version : 1;
}

std::optional<VersionEntry> Namespace::latest(std::string_view name) const {
  const auto* entry = file(name);
  if (!entry) return std::nullopt;
  for (auto it = entry->versions.rbegin(); it != entry->versions.rend(); ++it) {
    if (it->second.committed()) return it->second;
  }
  return std::nullopt;
}

std::optional<VersionEntry> Namespace::version(std::string_view name, std::uint64_t version) const {
  const auto* entry = file(name);
  if (!entry) return std::nullopt;
  auto it = entry->versions.find(version);
  if (it == entry->versions.end()) return std::nullopt;
  return it->second;
}

std::vector<VersionEntry> Namespace::versions(std::string_view name, std::size_t count) const {
  std::vector<VersionEntry> out;
  const auto* entry = file(name);
  if (!entry) return out;
  for (auto it = entry->versions.rbegin(); it != entry->versions.rend() && out.size() < count; ++it) {
    if (it->second.committed()) out.push_back(it->second);
  }
  return out;
}

std::vector<NamedVersion> Namespace::list(std::string_view prefix) const {
  std::vector<NamedVersion> out;
  for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix); ++it) {
    if (auto newest = latest(it->first)) out.push_back({it->first, std::move(*newest)});
  }
  return out;
}

std::vector<NamedVersion> Namespace::held_by(std::string_view node) const {
  std::vector<NamedVersion> out;
  for_each_version([&](const std::string& name, const VersionEntry& entry) {
    if (std::binary_search(entry.replicas.begin(), entry.replicas.end(), node)) out.push_back({name, entry});
  });
  return out;
}

std::vector<NamedVersion> Namespace::pending() const {
  std::vector<NamedVersion> out;
  for_each_version([&](const std::string& name, const VersionEntry& entry) {
    if (!entry.committed()) out.push_back({name, entry});
  });
  return out;
}

void Namespace::for_each_version(const std::function<void(const std::string& name, const VersionEntry&)>& visit) const {
  for (const auto& [name, entry] : files_) {
    for (const auto& [number, version] : entry.versions) visit(name, version);
  }
}

std::string Namespace::query(std::string_view bytes) const {
  pb::NamespaceQuery query;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !query.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return encode_query_result(query_failure(SdfsStatus::bad_command, "not an SDFS namespace query"));
  }
  SdfsQueryResult result;
  switch (query.query_case()) {
    case pb::NamespaceQuery::kLookup: {
      const auto& name = query.lookup().name();
      if (auto error = sdfs_name_error(name)) return encode_query_result(query_failure(SdfsStatus::bad_name, *error));
      const auto wanted = query.lookup().version();
      auto found = wanted == 0 ? latest(name) : version(name, wanted);
      if (!found || !found->committed()) {
        const auto what =
            wanted == 0 ? std::string("no committed version") : "no committed version " + std::to_string(wanted);
        return encode_query_result(query_failure(SdfsStatus::not_found, "there is " + what + " of \"" + name + "\""));
      }
      result.versions.push_back({name, std::move(*found)});
      break;
    }
    case pb::NamespaceQuery::kVersions: {
      const auto& name = query.versions().name();
      if (auto error = sdfs_name_error(name)) return encode_query_result(query_failure(SdfsStatus::bad_name, *error));
      if (query.versions().count() == 0) {
        return encode_query_result(query_failure(SdfsStatus::bad_command, "ask for at least one version"));
      }
      for (auto& entry : versions(name, query.versions().count())) result.versions.push_back({name, std::move(entry)});
      if (result.versions.empty()) {
        return encode_query_result(
            query_failure(SdfsStatus::not_found, "there is no committed version of \"" + name + "\""));
      }
      break;
    }
    case pb::NamespaceQuery::kList: result.versions = list(query.list().prefix()); break;
    case pb::NamespaceQuery::kHeldBy: result.versions = held_by(query.held_by().node()); break;
    case pb::NamespaceQuery::QUERY_NOT_SET:
      return encode_query_result(query_failure(SdfsStatus::bad_command, "not an SDFS namespace query"));
  }
  return encode_query_result(result);
}

}  // namespace idunno::fs
