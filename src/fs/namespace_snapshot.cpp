// Namespace's snapshot: the whole state as one NamespaceSnapshot message,
// files by name and versions ascending, so that equal states give equal
// bytes (no protobuf maps, whose order is unspecified). restore() checks
// every invariant apply() keeps before it replaces anything.

#include "core/raft/codec.hpp"
#include "fs/namespace.hpp"
#include "fs/sdfs_name.hpp"

namespace idunno::fs {

namespace {
constexpr std::uint32_t kSnapshotFormat = 1;
}  // namespace

std::string Namespace::snapshot() const {
  pb::NamespaceSnapshot out;
  out.set_format(kSnapshotFormat);
  for (const auto& [name, entry] : files_) {
    auto& file = *out.add_files();
    file.set_name(name);
    file.set_next_version(entry.next_version);
    for (const auto& [number, version] : entry.versions) to_proto(version, *file.add_versions());
  }
  std::string bytes;
  out.SerializeToString(&bytes);
  return bytes;
}

void Namespace::restore(std::string_view bytes) {
  if (bytes.empty()) {
    files_.clear();
    return;
  }
  pb::NamespaceSnapshot in;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw raft::DecodeError("not an SDFS namespace snapshot");
  }
  if (in.format() != kSnapshotFormat) {
    throw raft::DecodeError("SDFS namespace snapshot of unknown format " + std::to_string(in.format()));
  }
  Files files;
  for (const auto& file : in.files()) {
    if (auto error = sdfs_name_error(file.name())) throw raft::DecodeError("SDFS snapshot: " + *error);
    if (!files.empty() && files.rbegin()->first >= file.name()) {
      throw raft::DecodeError("SDFS snapshot: files out of order");
    }
    FileEntry entry;
    entry.next_version = file.next_version();
    if (entry.next_version == 0) throw raft::DecodeError("SDFS snapshot: next version 0");
    for (const auto& info : file.versions()) {
      auto version = from_proto(info);
      if (!version.replicas.empty() && version.replicas.front().empty()) {
        throw raft::DecodeError("SDFS snapshot: a replica with an empty node name");
      }
      if (version.version == 0 || version.version >= entry.next_version ||
          (!entry.versions.empty() && entry.versions.rbegin()->first >= version.version)) {
        throw raft::DecodeError("SDFS snapshot: versions of \"" + file.name() + "\" out of order or range");
      }
      const auto number = version.version;
      entry.versions.emplace(number, std::move(version));
    }
    files.emplace_hint(files.end(), file.name(), std::move(entry));
  }
  files_ = std::move(files);
}

}  // namespace idunno::fs
