#pragma once
// Helpers shared by the block store tests: deterministic content, a real
// temporary directory, and a Disk decorator that records how much each
// operation read or wrote (the tests' measure of memory and of range-read
// cost).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/disk.hpp"
#include "fs/block_store.hpp"

namespace idunno::fs::test {

// Byte `position` of the content numbered `seed`: any range can be checked
// without keeping the content.
inline std::uint8_t byte_at(std::uint64_t position, std::uint64_t seed) {
  const std::uint64_t x = (position + 1 + seed * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  return static_cast<std::uint8_t>((x ^ (x >> 29)) >> 40);
}

inline std::vector<std::uint8_t> content(std::size_t size, std::uint64_t seed) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = byte_at(i, seed);
  return out;
}

// Writes `data` in pieces of `piece` bytes and finishes.
inline BlockInfo write_block(BlockStore& store, std::string_view name, std::uint64_t version,
                             std::span<const std::uint8_t> data, std::size_t piece = 7) {
  auto writer = store.begin_write(name, version, data.size());
  for (std::size_t at = 0; at < data.size(); at += piece) {
    writer->append(data.subspan(at, std::min(piece, data.size() - at)));
  }
  return writer->finish();
}

inline std::vector<std::uint8_t> read_range(BlockReader& reader, std::uint64_t offset, std::size_t length) {
  std::vector<std::uint8_t> out(length);
  out.resize(reader.read(offset, out));
  return out;
}

inline std::vector<std::uint8_t> read_all(BlockStore& store, std::string_view name, std::uint64_t version) {
  auto reader = store.open(name, version);
  return read_range(*reader, 0, static_cast<std::size_t>(reader->info().size));
}

// A fresh directory under the system's temporary directory, removed with
// everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "idunno-blocks-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Passes everything to another Disk and records the largest single read and
// write and the bytes read in total. One thread at a time.
class CountingDisk final : public core::Disk {
 public:
  explicit CountingDisk(core::Disk& inner) : inner_(inner) {}

  std::uint64_t largest_read() const { return largest_read_; }
  std::uint64_t largest_write() const { return largest_write_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  void reset_counts() { largest_read_ = largest_write_ = bytes_read_ = 0; }

  std::unique_ptr<core::DiskFile> open(const std::filesystem::path& path, Open mode) override {
    return std::make_unique<File>(*this, inner_.open(path, mode));
  }
  bool exists(const std::filesystem::path& path) override { return inner_.exists(path); }
  std::uint64_t file_size(const std::filesystem::path& path) override { return inner_.file_size(path); }
  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override { inner_.rename(from, to); }
  void remove(const std::filesystem::path& path) override { inner_.remove(path); }
  std::vector<std::string> list(const std::filesystem::path& dir) override { return inner_.list(dir); }
  std::uint64_t free_space(const std::filesystem::path& path) override { return inner_.free_space(path); }
  void create_directories(const std::filesystem::path& dir) override { inner_.create_directories(dir); }
  void sync_directory(const std::filesystem::path& dir) override { inner_.sync_directory(dir); }

 private:
  class File final : public core::DiskFile {
   public:
    File(CountingDisk& disk, std::unique_ptr<core::DiskFile> inner) : disk_(disk), inner_(std::move(inner)) {}
    std::uint64_t size() override { return inner_->size(); }
    std::size_t read_into(std::uint64_t offset, std::span<std::uint8_t> out) override {
      disk_.largest_read_ = std::max<std::uint64_t>(disk_.largest_read_, out.size());
      const std::size_t n = inner_->read_into(offset, out);
      disk_.bytes_read_ += n;
      return n;
    }
    void write(std::uint64_t offset, std::string_view data) override {
      disk_.largest_write_ = std::max<std::uint64_t>(disk_.largest_write_, data.size());
      inner_->write(offset, data);
    }
    void truncate(std::uint64_t size) override { inner_->truncate(size); }
    void sync() override { inner_->sync(); }
    const std::filesystem::path& path() const override { return inner_->path(); }

   private:
    CountingDisk& disk_;
    std::unique_ptr<core::DiskFile> inner_;
  };

  core::Disk& inner_;
  std::uint64_t largest_read_ = 0;
  std::uint64_t largest_write_ = 0;
  std::uint64_t bytes_read_ = 0;
};

}  // namespace idunno::fs::test
