#pragma once
// Bounds-checked binary encoding of the core's values, and CRC32C.
//
// Why: the file storage and config entries need a compact, stable byte
// format that the core can produce without a protobuf dependency. Every read
// is bounds-checked; malformed input throws DecodeError and never reads past
// the buffer. Values are little-endian fixed-width integers and
// length-prefixed strings. Stateless; usable from any thread.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/raft/types.hpp"

namespace idunno::raft {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends encoded values to a string.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void bytes(std::string_view v);  // u32 length, then the bytes

 private:
  std::string& out_;
};

// Reads encoded values from a buffer it does not own.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::string bytes();
  bool done() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view take(std::size_t n);
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::uint32_t crc32c(std::string_view data);
// The checksum of the pieces' concatenation.
std::uint32_t crc32c(const std::vector<std::string_view>& pieces);

void write_configuration(Writer& w, const Configuration& config);
Configuration read_configuration(Reader& r);
std::string encode_configuration(const Configuration& config);
Configuration decode_configuration(std::string_view bytes);

void write_entry(Writer& w, const LogEntry& entry);
LogEntry read_entry(Reader& r);

void write_snapshot_meta(Writer& w, const SnapshotMeta& meta);
SnapshotMeta read_snapshot_meta(Reader& r);

}  // namespace idunno::raft
