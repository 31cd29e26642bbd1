#include "core/fake_disk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace idunno::core {

namespace fs = std::filesystem;

namespace {
std::string parent_of(const std::string& key) {
  auto parent = fs::path(key).parent_path().string();
  return parent.empty() ? std::string("/") : parent;
}

const char* op_name(DiskOp op) {
  switch (op) {
    case DiskOp::open: return "open";
    case DiskOp::read: return "read";
    case DiskOp::write: return "write";
    case DiskOp::truncate: return "truncate";
    case DiskOp::sync: return "sync";
    case DiskOp::sync_directory: return "sync directory";
    case DiskOp::rename: return "rename";
    case DiskOp::remove: return "remove";
    case DiskOp::list: return "list";
    case DiskOp::create_directories: return "create directory";
    case DiskOp::stat: return "stat";
  }
  return "use";
}

void write_into(std::string& data, std::uint64_t offset, std::string_view bytes) {
  if (data.size() < offset + bytes.size()) data.resize(offset + bytes.size(), '\0');
  data.replace(offset, bytes.size(), bytes);
}
}  // namespace

class FakeDiskFile final : public DiskFile {
 public:
  FakeDiskFile(FakeDisk& disk, fs::path path, std::shared_ptr<FakeDisk::Inode> inode, std::uint64_t generation)
      : disk_(disk), path_(std::move(path)), inode_(std::move(inode)), generation_(generation) {}

  std::uint64_t size() override {
    std::lock_guard lock(disk_.mutex_);
    disk_.check_alive(generation_);
    disk_.check_fault(DiskOp::stat, path_);
    return inode_->data.size();
  }
  std::size_t read_into(std::uint64_t offset, std::span<std::uint8_t> out) override {
    std::lock_guard lock(disk_.mutex_);
    disk_.check_alive(generation_);
    disk_.check_fault(DiskOp::read, path_);
    if (offset >= inode_->data.size()) return 0;
    const std::size_t n = std::min<std::uint64_t>(out.size(), inode_->data.size() - offset);
    std::memcpy(out.data(), inode_->data.data() + offset, n);
    return n;
  }
  void write(std::uint64_t offset, std::string_view data) override {
    std::lock_guard lock(disk_.mutex_);
    disk_.check_alive(generation_);
    disk_.file_write(*inode_, path_, offset, data);
  }
  void truncate(std::uint64_t size) override {
    std::lock_guard lock(disk_.mutex_);
    disk_.check_alive(generation_);
    disk_.file_truncate(*inode_, path_, size);
  }
  void sync() override {
    std::lock_guard lock(disk_.mutex_);
    disk_.check_alive(generation_);
    disk_.file_sync(*inode_, path_);
  }
  const fs::path& path() const override { return path_; }

 private:
  FakeDisk& disk_;
  fs::path path_;
  std::shared_ptr<FakeDisk::Inode> inode_;
  std::uint64_t generation_;
};

std::string FakeDisk::key(const fs::path& path) {
  auto s = path.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::uint64_t FakeDisk::mutating_ops() const {
  std::lock_guard lock(mutex_);
  return ops_;
}

void FakeDisk::crash_at(std::uint64_t op_from_now) {
  std::lock_guard lock(mutex_);
  crash_op_ = ops_ + op_from_now;
}

bool FakeDisk::crashed() const {
  std::lock_guard lock(mutex_);
  return crashed_;
}

void FakeDisk::restart(Restart how) {
  std::lock_guard lock(mutex_);
  Namespace survivors;
  const auto& names = how == Restart::keep_written ? files_ : durable_files_;
  const auto& dirs = how == Restart::keep_written ? dirs_ : durable_dirs_;
  for (const auto& [name, inode] : names) {
    if (!dirs.contains(parent_of(name))) continue;
    auto fresh = std::make_shared<Inode>();
    if (how == Restart::keep_written) {
      fresh->data = inode->data;
    } else {
      fresh->data = inode->durable;
      if (how == Restart::keep_unsynced_prefix) {
        std::uint64_t pending = 0;
        for (const auto& change : inode->changes) pending += change.truncation ? 1 : change.data.size();
        std::uint64_t budget = pending / 2;
        for (const auto& change : inode->changes) {
          if (budget == 0) break;
          if (change.truncation) {
            fresh->data.resize(std::min<std::uint64_t>(fresh->data.size(), change.offset));
            --budget;
            continue;
          }
          const auto kept = std::min<std::uint64_t>(budget, change.data.size());
          write_into(fresh->data, change.offset, std::string_view(change.data).substr(0, kept));
          budget -= kept;
        }
      }
    }
    fresh->durable = fresh->data;
    survivors.emplace(name, std::move(fresh));
  }
  files_ = survivors;
  durable_files_ = std::move(survivors);
  dirs_ = dirs;
  durable_dirs_ = dirs_;
  crashed_ = false;
  crash_op_.reset();
  faults_.clear();
  ++generation_;
}

void FakeDisk::inject(Fault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FakeDisk::set_capacity(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  capacity_ = bytes;
}

std::uint64_t FakeDisk::used_bytes() const {
  std::lock_guard lock(mutex_);
  return used_locked();
}

std::uint64_t FakeDisk::used_locked() const {
  std::set<const Inode*> seen;
  std::uint64_t used = 0;
  for (const auto& [name, inode] : files_) {
    if (seen.insert(inode.get()).second) used += inode->data.size();
  }
  return used;
}

std::optional<std::string> FakeDisk::content(const fs::path& path) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(key(path));
  if (it == files_.end()) return std::nullopt;
  return it->second->data;
}

void FakeDisk::put_durable(const fs::path& path, const std::string& content) {
  std::lock_guard lock(mutex_);
  const auto k = key(path);
  require_directory(parent_of(k));
  auto inode = std::make_shared<Inode>();
  inode->data = inode->durable = content;
  files_[k] = inode;
  durable_files_[k] = inode;
}

bool FakeDisk::begin_mutation() {
  if (crashed_) throw DiskCrashed();
  const bool here = crash_op_ && ops_ == *crash_op_;
  ++ops_;
  if (here) crashed_ = true;
  return here;
}

void FakeDisk::check_alive(std::uint64_t generation) const {
  if (crashed_ || generation != generation_) throw DiskCrashed();
}

void FakeDisk::check_fault(DiskOp op, const fs::path& path) {
  if (crashed_) throw DiskCrashed();
  const auto name = path.string();
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op || name.find(it->path_contains) == std::string::npos) continue;
    const int error = it->error;
    if (--it->count <= 0) faults_.erase(it);
    throw DiskError(error, op_name(op), path);
  }
}

void FakeDisk::require_directory(const fs::path& path) const {
  if (!dirs_.contains(key(path))) throw DiskError(ENOENT, "find directory", path);
}

void FakeDisk::file_write(Inode& inode, const fs::path& path, std::uint64_t offset, std::string_view data) {
  check_fault(DiskOp::write, path);
  if (begin_mutation()) {
    const auto torn = data.substr(0, data.size() / 2);
    write_into(inode.data, offset, torn);
    inode.changes.push_back({offset, std::string(torn), false});
    throw DiskCrashed();
  }
  std::string_view fits = data;
  bool full = false;
  if (capacity_) {
    const auto used = used_locked();
    const auto growth = offset + data.size() > inode.data.size() ? offset + data.size() - inode.data.size() : 0;
    if (used + growth > *capacity_) {
      const auto room = *capacity_ > used ? *capacity_ - used : 0;
      // What fits: overwrite of existing bytes plus `room` new ones.
      const auto existing = inode.data.size() > offset ? inode.data.size() - offset : 0;
      fits = data.substr(0, std::min<std::uint64_t>(data.size(), existing + room));
      full = true;
    }
  }
  write_into(inode.data, offset, fits);
  inode.changes.push_back({offset, std::string(fits), false});
  if (full) throw DiskError(ENOSPC, "write", path);
}

void FakeDisk::file_truncate(Inode& inode, const fs::path& path, std::uint64_t size) {
  check_fault(DiskOp::truncate, path);
  if (begin_mutation()) throw DiskCrashed();
  inode.data.resize(size, '\0');
  inode.changes.push_back({size, {}, true});
}

void FakeDisk::file_sync(Inode& inode, const fs::path& path) {
  check_fault(DiskOp::sync, path);
  if (begin_mutation()) throw DiskCrashed();
  inode.durable = inode.data;
  inode.changes.clear();
}

std::unique_ptr<DiskFile> FakeDisk::open(const fs::path& path, Open mode) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::open, path);
  const auto k = key(path);
  auto it = files_.find(k);
  if (it == files_.end()) {
    if (mode == Open::existing) throw DiskError(ENOENT, "open", path);
    require_directory(parent_of(k));
    if (begin_mutation()) throw DiskCrashed();
    it = files_.emplace(k, std::make_shared<Inode>()).first;
  } else if (mode == Open::create_truncated) {
    if (begin_mutation()) throw DiskCrashed();
    it->second->data.clear();
    it->second->changes.push_back({0, {}, true});
  }
  return std::make_unique<FakeDiskFile>(*this, path, it->second, generation_);
}

bool FakeDisk::exists(const fs::path& path) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::stat, path);
  const auto k = key(path);
  return files_.contains(k) || dirs_.contains(k);
}

std::uint64_t FakeDisk::file_size(const fs::path& path) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::stat, path);
  auto it = files_.find(key(path));
  if (it == files_.end()) throw DiskError(ENOENT, "stat", path);
  return it->second->data.size();
}

void FakeDisk::rename(const fs::path& from, const fs::path& to) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::rename, from);
  check_fault(DiskOp::rename, to);
  auto it = files_.find(key(from));
  if (it == files_.end()) throw DiskError(ENOENT, "rename", from);
  require_directory(parent_of(key(to)));
  if (begin_mutation()) throw DiskCrashed();
  auto inode = it->second;
  files_.erase(it);
  files_[key(to)] = std::move(inode);
}

void FakeDisk::remove(const fs::path& path) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::remove, path);
  auto it = files_.find(key(path));
  if (it == files_.end()) throw DiskError(ENOENT, "remove", path);
  if (begin_mutation()) throw DiskCrashed();
  files_.erase(it);
}

std::vector<std::string> FakeDisk::list(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::list, dir);
  const auto k = key(dir);
  require_directory(k);
  std::vector<std::string> names;
  for (const auto& [name, inode] : files_) {
    if (parent_of(name) == k) names.push_back(fs::path(name).filename().string());
  }
  for (const auto& name : dirs_) {
    if (name != k && parent_of(name) == k) names.push_back(fs::path(name).filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::uint64_t FakeDisk::free_space(const fs::path& path) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::stat, path);
  if (!capacity_) return std::uint64_t{1} << 40;
  const auto used = used_locked();
  return *capacity_ > used ? *capacity_ - used : 0;
}

void FakeDisk::create_directories(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::create_directories, dir);
  std::vector<std::string> missing;
  for (auto k = key(dir); !dirs_.contains(k); k = parent_of(k)) {
    if (files_.contains(k)) throw DiskError(ENOTDIR, "create directory", k);
    missing.push_back(k);
  }
  if (missing.empty()) return;
  if (begin_mutation()) throw DiskCrashed();
  for (const auto& k : missing) {
    dirs_.insert(k);
    durable_dirs_.insert(k);  // durable on return, as Disk promises
  }
}

void FakeDisk::sync_directory(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  check_fault(DiskOp::sync_directory, dir);
  const auto k = key(dir);
  require_directory(k);
  if (begin_mutation()) throw DiskCrashed();
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    it = parent_of(it->first) == k && !files_.contains(it->first) ? durable_files_.erase(it) : std::next(it);
  }
  for (const auto& [name, inode] : files_) {
    if (parent_of(name) == k) durable_files_[name] = inode;
  }
}

}  // namespace idunno::core
