#include "core/disk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

namespace idunno::core {

namespace fs = std::filesystem;

DiskError::DiskError(int code, std::string operation, fs::path path)
    : std::system_error(code, std::generic_category(), "cannot " + operation + " " + path.string()),
      operation_(std::move(operation)),
      path_(std::move(path)) {}

std::string DiskFile::read(std::uint64_t offset, std::uint64_t length) {
  std::string out(static_cast<std::size_t>(length), '\0');
  out.resize(read_into(offset, std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size())));
  return out;
}

namespace {

[[noreturn]] void fail(const std::string& operation, const fs::path& path) {
  throw DiskError(errno, operation, path);
}

class PosixFile final : public DiskFile {
 public:
  PosixFile(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  std::uint64_t size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("stat", path_);
    return static_cast<std::uint64_t>(st.st_size);
  }

  std::size_t read_into(std::uint64_t offset, std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      const auto n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("read", path_);
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  void write(std::uint64_t offset, std::string_view data) override {
    std::size_t done = 0;
    while (done < data.size()) {
      const auto n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("write", path_);
      }
      done += static_cast<std::size_t>(n);
    }
  }

  void truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail("truncate", path_);
  }

  void sync() override {
    if (::fdatasync(fd_) != 0) fail("sync", path_);
  }

  const fs::path& path() const override { return path_; }

 private:
  fs::path path_;
  int fd_;
};

}  // namespace

std::unique_ptr<DiskFile> PosixDisk::open(const fs::path& path, Open mode) {
  int flags = O_RDWR | O_CLOEXEC;
  if (mode != Open::existing) flags |= O_CREAT;
  if (mode == Open::create_truncated) flags |= O_TRUNC;
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) fail("open", path);
  return std::make_unique<PosixFile>(path, fd);
}

bool PosixDisk::exists(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  fail("stat", path);
}

std::uint64_t PosixDisk::file_size(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail("stat", path);
  return static_cast<std::uint64_t>(st.st_size);
}

void PosixDisk::rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail("rename " + from.string() + " to", to);
}

void PosixDisk::remove(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) fail("remove", path);
}

std::vector<std::string> PosixDisk::list(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) fail("list", dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int error = errno;
  ::closedir(d);
  if (error != 0) {
    errno = error;
    fail("list", dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::uint64_t PosixDisk::free_space(const fs::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) fail("statvfs", path);
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void PosixDisk::create_directories(const fs::path& dir) {
  if (dir.empty() || exists(dir)) return;
  const auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) create_directories(parent);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) fail("create directory", dir);
  sync_directory(parent.empty() ? fs::path(".") : parent);
}

void PosixDisk::sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open directory", dir);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) {
    errno = error;
    fail("sync directory", dir);
  }
}

PosixDisk& posix_disk() {
  static PosixDisk disk;
  return disk;
}

void replace_file(Disk& disk, const fs::path& path, std::string_view content) {
  replace_file(disk, path, std::vector<std::string_view>{content});
}

void replace_file(Disk& disk, const fs::path& path, const std::vector<std::string_view>& pieces) {
  auto tmp = path;
  tmp += ".tmp";
  {
    auto file = disk.open(tmp, Disk::Open::create_truncated);
    std::uint64_t offset = 0;
    for (const auto piece : pieces) {
      file->write(offset, piece);
      offset += piece.size();
    }
    file->sync();
  }
  disk.rename(tmp, path);
  disk.sync_directory(path.parent_path());
}

}  // namespace idunno::core
