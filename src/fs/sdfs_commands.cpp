#include "fs/sdfs_commands.hpp"

#include <algorithm>

#include "core/raft/codec.hpp"

namespace idunno::fs {

using raft::DecodeError;

namespace {

template <typename Message>
std::string serialize(const Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

template <typename Message>
Message parse(std::string_view bytes, const char* what) {
  Message message;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw DecodeError(std::string("not an SDFS ") + what);
  }
  return message;
}

void add_all(google::protobuf::RepeatedPtrField<std::string>& out, const std::vector<std::string>& values) {
  for (const auto& value : values) out.Add(std::string(value));
}

}  // namespace

std::string_view to_string(SdfsStatus status) {
  switch (status) {
    case SdfsStatus::ok: return "ok";
    case SdfsStatus::not_found: return "not_found";
    case SdfsStatus::bad_name: return "bad_name";
    case SdfsStatus::bad_command: return "bad_command";
    case SdfsStatus::conflict: return "conflict";
  }
  return "unknown";
}

std::string_view to_string(VersionState state) { return state == VersionState::committed ? "committed" : "pending"; }

std::string sdfs_begin(std::string_view name, std::uint64_t size, std::uint64_t checksum,
                       const std::vector<std::string>& replicas) {
  pb::NamespaceCommand command;
  auto& begin = *command.mutable_begin();
  begin.set_name(std::string(name));
  begin.set_size(size);
  begin.set_checksum(checksum);
  add_all(*begin.mutable_replicas(), replicas);
  return serialize(command);
}

std::string sdfs_commit(std::string_view name, std::uint64_t version, const std::vector<std::string>& replicas,
                        std::uint32_t max_versions, std::uint64_t checksum) {
  pb::NamespaceCommand command;
  auto& commit = *command.mutable_commit();
  commit.set_name(std::string(name));
  commit.set_version(version);
  add_all(*commit.mutable_replicas(), replicas);
  commit.set_max_versions(max_versions);
  commit.set_checksum(checksum);
  return serialize(command);
}

std::string sdfs_abort(std::string_view name, std::uint64_t version) {
  pb::NamespaceCommand command;
  command.mutable_abort()->set_name(std::string(name));
  command.mutable_abort()->set_version(version);
  return serialize(command);
}

std::string sdfs_delete(std::string_view name) {
  pb::NamespaceCommand command;
  command.mutable_delete_file()->set_name(std::string(name));
  return serialize(command);
}

namespace {

std::string replica_change(pb::NamespaceCommand& command, pb::ReplicaChange& change, std::string_view name,
                           std::uint64_t version, std::string_view node) {
  change.set_name(std::string(name));
  change.set_version(version);
  change.set_node(std::string(node));
  return serialize(command);
}

}  // namespace

std::string sdfs_add_replica(std::string_view name, std::uint64_t version, std::string_view node) {
  pb::NamespaceCommand command;
  return replica_change(command, *command.mutable_add_replica(), name, version, node);
}

std::string sdfs_remove_replica(std::string_view name, std::uint64_t version, std::string_view node) {
  pb::NamespaceCommand command;
  return replica_change(command, *command.mutable_remove_replica(), name, version, node);
}

std::string sdfs_lookup(std::string_view name, std::optional<std::uint64_t> version) {
  pb::NamespaceQuery query;
  query.mutable_lookup()->set_name(std::string(name));
  query.mutable_lookup()->set_version(version.value_or(0));
  return serialize(query);
}

std::string sdfs_versions(std::string_view name, std::uint32_t count) {
  pb::NamespaceQuery query;
  query.mutable_versions()->set_name(std::string(name));
  query.mutable_versions()->set_count(count);
  return serialize(query);
}

std::string sdfs_list(std::string_view prefix) {
  pb::NamespaceQuery query;
  query.mutable_list()->set_prefix(std::string(prefix));
  return serialize(query);
}

std::string sdfs_held_by(std::string_view node) {
  pb::NamespaceQuery query;
  query.mutable_held_by()->set_node(std::string(node));
  return serialize(query);
}

pb::Status to_proto(SdfsStatus status) { return static_cast<pb::Status>(status); }

SdfsStatus from_proto(pb::Status status) {
  if (status < pb::STATUS_OK || status > pb::STATUS_CONFLICT) throw DecodeError("unknown SDFS status");
  return static_cast<SdfsStatus>(status);
}

void to_proto(const VersionEntry& entry, pb::VersionInfo& out) {
  out.set_version(entry.version);
  out.set_size(entry.size);
  out.set_checksum(entry.checksum);
  out.set_state(entry.committed() ? pb::VERSION_COMMITTED : pb::VERSION_PENDING);
  add_all(*out.mutable_replicas(), entry.replicas);
}

VersionEntry from_proto(const pb::VersionInfo& info) {
  VersionEntry entry;
  entry.version = info.version();
  entry.size = info.size();
  entry.checksum = info.checksum();
  if (info.state() == pb::VERSION_COMMITTED) {
    entry.state = VersionState::committed;
  } else if (info.state() == pb::VERSION_PENDING) {
    entry.state = VersionState::pending;
  } else {
    throw DecodeError("unknown SDFS version state");
  }
  entry.replicas.assign(info.replicas().begin(), info.replicas().end());
  if (std::adjacent_find(entry.replicas.begin(), entry.replicas.end(), std::greater_equal<>()) !=
      entry.replicas.end()) {
    throw DecodeError("SDFS replica list not sorted or with duplicates");
  }
  return entry;
}

std::string encode_result(const SdfsResult& result) {
  pb::NamespaceResult out;
  out.set_status(to_proto(result.status));
  out.set_error(result.error);
  out.set_version(result.version);
  for (const auto& removed : result.removed) {
    auto& r = *out.add_removed();
    r.set_version(removed.version);
    add_all(*r.mutable_replicas(), removed.replicas);
  }
  return serialize(out);
}

std::string encode_query_result(const SdfsQueryResult& result) {
  pb::QueryResult out;
  out.set_status(to_proto(result.status));
  out.set_error(result.error);
  for (const auto& named : result.versions) {
    auto& info = *out.add_versions();
    to_proto(named.entry, info);
    info.set_name(named.name);
  }
  return serialize(out);
}

SdfsResult decode_sdfs_result(std::string_view bytes) {
  const auto in = parse<pb::NamespaceResult>(bytes, "result");
  SdfsResult result;
  result.status = from_proto(in.status());
  result.error = in.error();
  result.version = in.version();
  for (const auto& removed : in.removed()) {
    result.removed.push_back({removed.version(), {removed.replicas().begin(), removed.replicas().end()}});
  }
  return result;
}

SdfsQueryResult decode_sdfs_query_result(std::string_view bytes) {
  const auto in = parse<pb::QueryResult>(bytes, "query result");
  SdfsQueryResult result;
  result.status = from_proto(in.status());
  result.error = in.error();
  for (const auto& info : in.versions()) result.versions.push_back({info.name(), from_proto(info)});
  return result;
}

std::optional<pb::NamespaceCommand> parse_sdfs_command(std::string_view bytes) {
  pb::NamespaceCommand command;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !command.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      command.command_case() == pb::NamespaceCommand::COMMAND_NOT_SET) {
    return std::nullopt;
  }
  return command;
}

const std::string& command_name(const pb::NamespaceCommand& command) {
  static const std::string none;
  switch (command.command_case()) {
    case pb::NamespaceCommand::kBegin: return command.begin().name();
    case pb::NamespaceCommand::kCommit: return command.commit().name();
    case pb::NamespaceCommand::kAbort: return command.abort().name();
    case pb::NamespaceCommand::kDeleteFile: return command.delete_file().name();
    case pb::NamespaceCommand::kAddReplica: return command.add_replica().name();
    case pb::NamespaceCommand::kRemoveReplica: return command.remove_replica().name();
    case pb::NamespaceCommand::COMMAND_NOT_SET: break;
  }
  return none;
}

}  // namespace idunno::fs
