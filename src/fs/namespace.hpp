#pragma once
// Namespace: the SDFS metadata as a replicated state machine (registered as
// "sdfs" beside "kv" in the Raft router).
//
// Why: every node holds the same map from file name to versions (size,
// checksum, state, the nodes holding a copy), changed only by commands that
// went through the log, so that any node can take over as coordinator and
// answer reads from its own copy. A put is two commands: Begin assigns the
// next version (never reused, even after a delete: the counter outlives the
// versions) in state pending; Commit makes it committed on the nodes that
// stored it and prunes the file to its newest `max_versions` committed
// versions. Everything that decides an outcome travels in the command (the
// replicas the proposer chose, max_versions), never local config, so every
// node decides the same. apply() never throws: a command it cannot run gets
// an error result and changes nothing.
//
// Threading: apply() and restore() on the loop that runs the Raft core; the
// const methods (accessors, query(), snapshot()) change nothing and may run
// concurrently with each other (see raft::StateMachine).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/raft/state_machine.hpp"
#include "fs/sdfs_commands.hpp"

namespace idunno::fs {

// One file: its versions by number and the number the next put gets. A file
// whose versions were all deleted stays as a tombstone with its counter.
struct FileEntry {
  std::uint64_t next_version = 1;
  std::map<std::uint64_t, VersionEntry> versions;

  bool operator==(const FileEntry&) const = default;
};

class Namespace final : public raft::StateMachine {
 public:
  using Files = std::map<std::string, FileEntry, std::less<>>;

  std::string apply(raft::Index index, std::string_view command) override;
  // Deterministic bytes: equal states give equal snapshots.
  std::string snapshot() const override;
  // Throws raft::DecodeError on bytes that are not a valid snapshot, and
  // then keeps the state it had.
  void restore(std::string_view snapshot) override;
  // Answers sdfs_lookup/versions/list/held_by; never throws.
  std::string query(std::string_view query) const override;

  // The command's effect as a value (apply() is this, encoded).
  SdfsResult execute(std::string_view command);

  // Local reads (possibly stale on a follower). Only committed versions,
  // except version(), held_by() and pending(), which say which they are.
  std::optional<VersionEntry> latest(std::string_view name) const;
  std::optional<VersionEntry> version(std::string_view name, std::uint64_t version) const;
  // The newest `count` committed versions, newest first.
  std::vector<VersionEntry> versions(std::string_view name, std::size_t count) const;
  // The newest committed version of each file whose name starts with
  // `prefix`, by name.
  std::vector<NamedVersion> list(std::string_view prefix) const;
  // Every version, pending or committed, that lists `node`, by (name, version).
  std::vector<NamedVersion> held_by(std::string_view node) const;
  std::vector<NamedVersion> pending() const;
  // Every version of every file, by (name, version).
  void for_each_version(const std::function<void(const std::string& name, const VersionEntry&)>& visit) const;
  // The version the next Begin of `name` will get.
  std::uint64_t next_version(std::string_view name) const;
  const FileEntry* file(std::string_view name) const;
  const Files& files() const { return files_; }

 private:
  SdfsResult begin(const pb::Begin& command);
  SdfsResult commit(const pb::Commit& command);
  SdfsResult abort(const pb::Abort& command);
  SdfsResult erase(const pb::Delete& command);
  // Lists the change's node on its version (`listed`) or stops listing it.
  SdfsResult change_replica(const pb::ReplicaChange& change, bool listed);
  // The version named by a command, or an error result in `error`.
  VersionEntry* find(std::string_view name, std::uint64_t version, SdfsResult& error);

  Files files_;
};

}  // namespace idunno::fs
