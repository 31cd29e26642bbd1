#pragma once
// Thin POSIX file helpers for FileStorage: positional writes, fdatasync,
// truncation and atomic replacement of a whole file.
//
// Why: durability needs exact control over what is flushed and when, which
// iostreams do not give. Every failure throws std::system_error naming the
// file. A File is owned by one storage object on one thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace idunno::raft {

class File {
 public:
  // Opens (creating if missing) for reading and writing.
  explicit File(std::filesystem::path path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;

  std::string read_all() const;
  void write_at(std::uint64_t offset, std::string_view data);
  void truncate(std::uint64_t size);
  void sync_data();  // fdatasync
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

void sync_directory(const std::filesystem::path& dir);

// Writes `content` to path.tmp, syncs it, renames it over `path` and syncs
// the directory: afterwards `path` holds either the old or the new content.
void replace_file(const std::filesystem::path& path, std::string_view content);

}  // namespace idunno::raft
