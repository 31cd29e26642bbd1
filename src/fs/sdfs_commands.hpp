#pragma once
// The SDFS namespace's values as C++ types, and the byte encodings of its
// commands, results and queries (fs/sdfs.proto).
//
// Why: commands travel through the Raft log and results come back from
// apply() as bytes; the coordinator, the node-side service and the tests
// build and read them only through these helpers, as kv_state_machine.hpp
// does for the key-value store. Decoders throw raft::DecodeError on bytes
// that are not what they claim. Stateless; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/raft/codec.hpp"  // raft::DecodeError
#include "fs/sdfs.pb.h"

namespace idunno::fs {

enum class SdfsStatus : std::uint8_t { ok = 0, not_found = 1, bad_name = 2, bad_command = 3, conflict = 4 };
std::string_view to_string(SdfsStatus status);

enum class VersionState : std::uint8_t { pending = 0, committed = 1 };
std::string_view to_string(VersionState state);

// One version of a file. `replicas` is sorted and free of duplicates.
struct VersionEntry {
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the whole content
  VersionState state = VersionState::pending;
  std::vector<std::string> replicas;

  bool committed() const { return state == VersionState::committed; }
  bool operator==(const VersionEntry&) const = default;
};

// A version together with the file it belongs to (listings, queries).
struct NamedVersion {
  std::string name;
  VersionEntry entry;

  bool operator==(const NamedVersion&) const = default;
};

// A version a command removed and the nodes that may hold its blocks.
struct RemovedVersion {
  std::uint64_t version = 0;
  std::vector<std::string> replicas;

  bool operator==(const RemovedVersion&) const = default;
};

// What apply() returns for every command.
struct SdfsResult {
  SdfsStatus status = SdfsStatus::ok;
  std::string error;           // what was wrong, unless ok
  std::uint64_t version = 0;   // Begin: the new version; else the one named
  std::vector<RemovedVersion> removed;  // Commit (pruned), Abort, Delete

  bool ok() const { return status == SdfsStatus::ok; }
};

// What query() returns: Lookup gives one version, Versions newest first,
// List one per file by name, HeldBy every listing in (name, version) order.
struct SdfsQueryResult {
  SdfsStatus status = SdfsStatus::ok;
  std::string error;
  std::vector<NamedVersion> versions;

  bool ok() const { return status == SdfsStatus::ok; }
};

// Commands (apply()).
std::string sdfs_begin(std::string_view name, std::uint64_t size, std::uint64_t checksum,
                       const std::vector<std::string>& replicas);
// `checksum` (when not 0) sets the version's content checksum, for a put
// that learned it only while streaming.
std::string sdfs_commit(std::string_view name, std::uint64_t version, const std::vector<std::string>& replicas,
                        std::uint32_t max_versions, std::uint64_t checksum = 0);
std::string sdfs_abort(std::string_view name, std::uint64_t version);
std::string sdfs_delete(std::string_view name);
std::string sdfs_add_replica(std::string_view name, std::uint64_t version, std::string_view node);
std::string sdfs_remove_replica(std::string_view name, std::uint64_t version, std::string_view node);

// Queries (query()). Lookup without a version means the newest committed.
std::string sdfs_lookup(std::string_view name, std::optional<std::uint64_t> version = std::nullopt);
std::string sdfs_versions(std::string_view name, std::uint32_t count);
std::string sdfs_list(std::string_view prefix);
std::string sdfs_held_by(std::string_view node);

// Throw raft::DecodeError.
SdfsResult decode_sdfs_result(std::string_view bytes);
SdfsQueryResult decode_sdfs_query_result(std::string_view bytes);
// The command in an entry, or nullopt if the bytes are not one (no command
// set counts as not one).
std::optional<pb::NamespaceCommand> parse_sdfs_command(std::string_view bytes);
// The file name a command is about.
const std::string& command_name(const pb::NamespaceCommand& command);

// Conversions between the C++ values and their protobuf form.
pb::Status to_proto(SdfsStatus status);
SdfsStatus from_proto(pb::Status status);
void to_proto(const VersionEntry& entry, pb::VersionInfo& out);
// Throws raft::DecodeError on a state or replica list that is not valid.
VersionEntry from_proto(const pb::VersionInfo& info);
std::string encode_result(const SdfsResult& result);
std::string encode_query_result(const SdfsQueryResult& result);

}  // namespace idunno::fs
