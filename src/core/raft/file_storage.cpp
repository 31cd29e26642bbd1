#include "core/raft/file_storage.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/raft/codec.hpp"

namespace idunno::raft {

namespace {
constexpr std::uint8_t kStartRecord = 1;
constexpr std::uint8_t kEntryRecord = 2;
constexpr std::uint64_t kStateSlotBytes = 4096;
constexpr std::uint32_t kSnapshotMagic = 0x4e535249;  // "IRSN"

void add_record(std::string& out, std::string_view payload) {
  Writer w(out);
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u32(crc32c(payload));
  out.append(payload);
}

// The payload of the record at `offset`, or nullopt when it is torn.
std::optional<std::string_view> read_record(std::string_view file, std::uint64_t offset, std::uint64_t* end) {
  if (file.size() - offset < 8) return std::nullopt;
  Reader header(file.substr(offset, 8));
  const std::uint32_t length = header.u32();
  const std::uint32_t crc = header.u32();
  // Zero length: a region the file system extended with zeros.
  if (length == 0 || file.size() - offset - 8 < length) return std::nullopt;
  auto payload = file.substr(offset + 8, length);
  if (crc32c(payload) != crc) return std::nullopt;
  *end = offset + 8 + length;
  return payload;
}

std::string start_record(Index start, Term start_term) {
  std::string payload;
  Writer w(payload);
  w.u8(kStartRecord);
  w.u64(start);
  w.u64(start_term);
  std::string out;
  add_record(out, payload);
  return out;
}
}  // namespace

FileStorage::FileStorage(core::Disk& disk, std::filesystem::path dir) : disk_(disk), dir_(std::move(dir)) {
  disk_.create_directories(dir_);
  log_ = disk_.open(dir_ / "log", core::Disk::Open::create);
  state_ = disk_.open(dir_ / "state", core::Disk::Open::create);
  recover_snapshot(recovered_);
  recover_state(recovered_);
  recover_log(recovered_);
}

template <typename Fn>
void FileStorage::guarded(Fn&& fn) {
  check_healthy();
  try {
    fn();
  } catch (...) {
    failure_ = std::current_exception();
    throw;
  }
}

void FileStorage::check_healthy() const {
  if (!failure_) return;
  try {
    std::rethrow_exception(failure_);
  } catch (const std::exception& e) {
    throw std::runtime_error("Raft storage in " + dir_.string() + " failed earlier and may not be written: " +
                             e.what());
  }
}

Storage::State FileStorage::load() { return recovered_; }

void FileStorage::recover_log(State& state) {
  const std::string file = log_->read_all();
  std::uint64_t offset = 0;
  std::uint64_t end = 0;
  auto first = read_record(file, 0, &end);
  if (!first) {
    // New, or its creation never completed.
    dropped_tail_bytes_ = file.size();
    rewrite_log(0, 0, 0);
    return;
  }
  try {
    Reader start(*first);
    if (start.u8() != kStartRecord) throw DecodeError("no start record");
    log_start_ = state.log_start = start.u64();
    state.log_start_term = start.u64();
  } catch (const DecodeError& e) {
    throw std::runtime_error("Raft log " + log_->path().string() + " is corrupt: " + e.what());
  }
  offset = end;
  while (offset < file.size()) {
    auto payload = read_record(file, offset, &end);
    if (!payload) break;
    LogEntry entry;
    try {
      Reader r(*payload);
      if (r.u8() != kEntryRecord) throw DecodeError("unexpected record kind");
      entry = read_entry(r);
    } catch (const DecodeError& e) {
      throw std::runtime_error("Raft log " + log_->path().string() + " is corrupt at offset " +
                               std::to_string(offset) + ": " + e.what());
    }
    // Indexes follow each other and terms never decrease along a log: an
    // entry that breaks this is stale data, the end of what is valid.
    const Term previous_term = state.entries.empty() ? state.log_start_term : state.entries.back().term;
    if (entry.index != last_index() + 1 || entry.term < previous_term) break;
    offsets_.push_back(offset);
    state.entries.push_back(std::move(entry));
    offset = end;
  }
  log_size_ = offset;
  if (offset < file.size()) {
    dropped_tail_bytes_ = file.size() - offset;
    log_->truncate(offset);
    log_->sync();
  }
}

void FileStorage::recover_state(State& state) {
  const std::string file = state_->read_all();
  bool found = false;
  for (std::uint64_t slot = 0; slot < 2; ++slot) {
    const std::uint64_t at = slot * kStateSlotBytes;
    if (file.size() <= at) break;
    // A record never spills into the next slot.
    const auto slot_view = std::string_view(file).substr(0, std::min(file.size(), at + kStateSlotBytes));
    std::uint64_t end = 0;
    auto payload = read_record(slot_view, at, &end);
    if (!payload) continue;
    Reader r(*payload);
    std::uint64_t sequence = 0;
    HardState hard;
    try {
      sequence = r.u64();
      hard.term = r.u64();
      hard.vote = r.bytes();
    } catch (const DecodeError&) {
      continue;  // checksummed but malformed: treat the slot as torn
    }
    if (!found || sequence > state_sequence_) {
      state_sequence_ = sequence;
      state.hard_state = std::move(hard);
      found = true;
    }
  }
}

void FileStorage::recover_snapshot(State& state) {
  const auto path = dir_ / "snapshot";
  if (!disk_.exists(path)) return;
  const std::string file = disk_.open(path, core::Disk::Open::existing)->read_all();
  Reader r(file);
  try {
    if (r.u32() != kSnapshotMagic) throw DecodeError("bad magic");
    const auto crc = r.u32();
    const auto body = std::string_view(file).substr(8);
    if (crc32c(body) != crc) throw DecodeError("checksum mismatch");
    Reader b(body);
    Snapshot snapshot;
    snapshot.meta = read_snapshot_meta(b);
    snapshot.data = b.bytes();
    if (!b.done()) throw DecodeError("trailing bytes");
    state.snapshot = std::move(snapshot);
  } catch (const DecodeError& e) {
    // Snapshots are replaced atomically, so this is real corruption.
    throw std::runtime_error("Raft snapshot " + path.string() + " is corrupt: " + e.what());
  }
}

void FileStorage::save_hard_state(const HardState& state) {
  check_healthy();
  pending_hard_state_ = state;
}

void FileStorage::append(const std::vector<LogEntry>& entries) {
  check_healthy();
  if (entries.empty()) return;
  if (entries.front().index != last_index() + 1) {
    throw std::logic_error("Raft log append at " + std::to_string(entries.front().index) + " after " +
                           std::to_string(last_index()));
  }
  guarded([&] {
    std::string out;
    std::vector<std::uint64_t> offsets;
    for (const auto& entry : entries) {
      offsets.push_back(log_size_ + out.size());
      std::string payload;
      Writer w(payload);
      w.u8(kEntryRecord);
      write_entry(w, entry);
      add_record(out, payload);
    }
    log_dirty_ = true;
    log_->write(log_size_, out);
    offsets_.insert(offsets_.end(), offsets.begin(), offsets.end());
    log_size_ += out.size();
  });
}

void FileStorage::truncate_after(Index last_kept) {
  check_healthy();
  if (last_kept < log_start_ || last_kept > last_index()) throw std::logic_error("Raft log truncate out of range");
  guarded([&] {
    const auto keep = last_kept - log_start_;
    if (keep == offsets_.size()) return;
    log_->truncate(offsets_[keep]);
    log_->sync();
    log_size_ = offsets_[keep];
    offsets_.resize(keep);
  });
}

void FileStorage::sync() {
  guarded([&] {
    if (!pending_hard_state_) return;
    std::string payload;
    Writer w(payload);
    w.u64(++state_sequence_);
    w.u64(pending_hard_state_->term);
    w.bytes(pending_hard_state_->vote);
    std::string record;
    add_record(record, payload);
    if (record.size() > kStateSlotBytes) throw std::length_error("Raft vote name too long");
    // The other slot was synced by the sync() that wrote it, so a torn
    // write here leaves it intact.
    state_->write((state_sequence_ % 2) * kStateSlotBytes, record);
    state_->sync();
    pending_hard_state_.reset();
  });
  guarded([&] {
    if (!log_dirty_) return;
    log_->sync();
    log_dirty_ = false;
  });
}

void FileStorage::save_snapshot(const Snapshot& snapshot) {
  sync();
  guarded([&] {
    // Written in pieces: a snapshot can be large, and is not copied.
    std::string meta;
    Writer m(meta);
    write_snapshot_meta(m, snapshot.meta);
    if (snapshot.data.size() > 0xffffffffu) throw std::length_error("Raft snapshot too large to encode");
    m.u32(static_cast<std::uint32_t>(snapshot.data.size()));
    std::string header;
    Writer h(header);
    h.u32(kSnapshotMagic);
    h.u32(crc32c(std::vector<std::string_view>{meta, snapshot.data}));
    core::replace_file(disk_, dir_ / "snapshot", std::vector<std::string_view>{header, meta, snapshot.data});
  });
}

void FileStorage::compact(Index upto, Term upto_term) {
  sync();
  if (upto <= log_start_) return;
  rewrite_log(upto, upto_term, upto);
}

void FileStorage::reset_log(Index start, Term start_term) {
  sync();
  rewrite_log(start, start_term, last_index());
}

void FileStorage::rewrite_log(Index start, Term start_term, Index keep_after) {
  guarded([&] {
    std::string content = start_record(start, start_term);
    const std::uint64_t base = content.size();
    std::vector<std::uint64_t> offsets;
    if (keep_after < last_index()) {
      const auto first_kept = keep_after - log_start_;
      const auto from = offsets_[first_kept];
      content += log_->read(from, log_size_ - from);
      for (auto i = first_kept; i < offsets_.size(); ++i) offsets.push_back(offsets_[i] - from + base);
    }
    core::replace_file(disk_, dir_ / "log", content);
    log_ = disk_.open(dir_ / "log", core::Disk::Open::existing);
    log_start_ = start;
    offsets_ = std::move(offsets);
    log_size_ = content.size();
    log_dirty_ = false;
  });
}

}  // namespace idunno::raft
