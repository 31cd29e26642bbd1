#include "fs/namespace.hpp"

#include <algorithm>
#include <utility>

#include "fs/sdfs_name.hpp"

namespace idunno::fs {

namespace {

SdfsResult failure(SdfsStatus status, std::string error) {
  SdfsResult result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

SdfsResult success(std::uint64_t version) {
  SdfsResult result;
  result.version = version;
  return result;
}

std::string describe(std::string_view name, std::uint64_t version) {
  return "version " + std::to_string(version) + " of \"" + std::string(name) + "\"";
}

// A node name as a command carries it: not empty, printable UTF-8.
std::optional<std::string> node_error(std::string_view node) {
  if (node.empty()) return "a replica's node name is empty";
  if (sdfs_name_error(node)) return "a replica's node name is not printable UTF-8 of at most 1024 bytes";
  return std::nullopt;
}

// The sorted, duplicate-free replica list of a command, or an error.
std::optional<std::string> normalize(const google::protobuf::RepeatedPtrField<std::string>& in,
                                     std::vector<std::string>& out) {
  if (in.empty()) return "the replica list is empty";
  for (const auto& node : in) {
    if (auto error = node_error(node)) return error;
  }
  out.assign(in.begin(), in.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return std::nullopt;
}

}  // namespace

std::string Namespace::apply(raft::Index /*index*/, std::string_view command) {
  return encode_result(execute(command));
}

SdfsResult Namespace::execute(std::string_view bytes) {
  const auto command = parse_sdfs_command(bytes);
  if (!command) return failure(SdfsStatus::bad_command, "not an SDFS namespace command");
  if (auto error = sdfs_name_error(command_name(*command))) return failure(SdfsStatus::bad_name, *error);
  switch (command->command_case()) {
    case pb::NamespaceCommand::kBegin: return begin(command->begin());
    case pb::NamespaceCommand::kCommit: return commit(command->commit());
    case pb::NamespaceCommand::kAbort: return abort(command->abort());
    case pb::NamespaceCommand::kDeleteFile: return erase(command->delete_file());
    case pb::NamespaceCommand::kAddReplica: return change_replica(command->add_replica(), true);
    case pb::NamespaceCommand::kRemoveReplica: return change_replica(command->remove_replica(), false);
    case pb::NamespaceCommand::COMMAND_NOT_SET: break;
  }
  return failure(SdfsStatus::bad_command, "not an SDFS namespace command");
}

VersionEntry* Namespace::find(std::string_view name, std::uint64_t version, SdfsResult& error) {
  auto file = files_.find(name);
  if (file != files_.end()) {
    auto it = file->second.versions.find(version);
    if (it != file->second.versions.end()) return &it->second;
  }
  error = failure(SdfsStatus::not_found, "there is no " + describe(name, version));
  return nullptr;
}

SdfsResult Namespace::begin(const pb::Begin& command) {
  VersionEntry entry;
  if (auto error = normalize(command.replicas(), entry.replicas)) return failure(SdfsStatus::bad_command, *error);
  auto it = files_.find(command.name());
  if (it == files_.end()) it = files_.emplace(command.name(), FileEntry{}).first;
  auto& file = it->second;
  if (file.next_version == UINT64_MAX) {
    return failure(SdfsStatus::conflict, "\"" + command.name() + "\" has used up its version numbers");
  }
  entry.version = file.next_version++;
  entry.size = command.size();
  entry.checksum = command.checksum();
  entry.state = VersionState::pending;
  const auto version = entry.version;
  file.versions.emplace(version, std::move(entry));
  return success(version);
}

SdfsResult Namespace::commit(const pb::Commit& command) {
  if (command.max_versions() == 0) return failure(SdfsStatus::bad_command, "max_versions must be at least 1");
  std::vector<std::string> replicas;
  if (auto error = normalize(command.replicas(), replicas)) return failure(SdfsStatus::bad_command, *error);
  SdfsResult result;
  auto* entry = find(command.name(), command.version(), result);
  if (!entry) return result;
  result = success(command.version());
  if (entry->committed()) return result;  // a retried commit: already done
  entry->state = VersionState::committed;
  entry->replicas = std::move(replicas);
  if (command.checksum() != 0) entry->checksum = command.checksum();
  // Keep the newest max_versions committed versions; pending ones stay.
  auto& versions = files_.find(command.name())->second.versions;
  std::size_t committed = 0;
  for (const auto& [number, version] : versions) committed += version.committed() ? 1 : 0;
  for (auto it = versions.begin(); it != versions.end() && committed > command.max_versions();) {
    if (!it->second.committed()) {
      ++it;
      continue;
    }
    result.removed.push_back({it->first, std::move(it->second.replicas)});
    it = versions.erase(it);
    --committed;
  }
  return result;
}

SdfsResult Namespace::abort(const pb::Abort& command) {
  SdfsResult result;
  auto* entry = find(command.name(), command.version(), result);
  if (!entry) return result;
  if (entry->committed()) {
    return failure(SdfsStatus::conflict,
                   describe(command.name(), command.version()) + " is committed; delete the file to remove it");
  }
  result = success(command.version());
  result.removed.push_back({entry->version, std::move(entry->replicas)});
  files_.find(command.name())->second.versions.erase(command.version());
  return result;
}

SdfsResult Namespace::erase(const pb::Delete& command) {
  auto it = files_.find(command.name());
  if (it == files_.end() || it->second.versions.empty()) {
    return failure(SdfsStatus::not_found, "there is no file \"" + command.name() + "\"");
  }
  auto& versions = it->second.versions;
  SdfsResult result = success(versions.rbegin()->first);
  for (auto& [number, entry] : versions) result.removed.push_back({number, std::move(entry.replicas)});
  versions.clear();  // the entry stays: its next_version is never reused
  return result;
}

SdfsResult Namespace::change_replica(const pb::ReplicaChange& change, bool listed) {
  if (auto error = node_error(change.node())) return failure(SdfsStatus::bad_command, *error);
  SdfsResult result;
  auto* entry = find(change.name(), change.version(), result);
  if (!entry) return result;
  auto& replicas = entry->replicas;
  auto at = std::lower_bound(replicas.begin(), replicas.end(), change.node());
  const bool present = at != replicas.end() && *at == change.node();
  if (listed && !present) replicas.insert(at, change.node());
  if (!listed && present) replicas.erase(at);
  return success(change.version());
}

}  // namespace idunno::fs
