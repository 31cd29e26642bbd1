#pragma once
// Bounds-checked byte writer and reader for the SWIM wire format.
//
// Why: every byte that arrives from the network is untrusted. The reader
// never reads past its span; any overrun, over-long varint or over-long
// string sets a sticky failure flag and yields zero values, so decoders can
// read a whole message and check ok() once. Plain value types, no I/O.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace idunno::swim {

// Appends little-endian integers, LEB128 varints and length-prefixed strings.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<std::uint8_t>(v));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void raw(std::span<const std::uint8_t> bytes) {
    out_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::string& out_;
};

// Reads what ByteWriter wrote. After the first failure every read returns 0
// or empty and ok() stays false.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}

  bool ok() const { return ok_; }
  bool at_end() const { return pos_ >= in_.size(); }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
  void fail() { ok_ = false; }

  std::uint8_t u8() {
    if (!ok_ || pos_ >= in_.size()) return fail_zero();
    return in_[pos_++];
  }
  std::uint32_t u32() {
    if (!ok_ || in_.size() - pos_ < 4) return fail_zero();
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    if (!ok_ || in_.size() - pos_ < 8) return fail_zero();
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = u8();
      if (!ok_) return 0;
      if (shift == 63 && b > 1) return fail_zero();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail_zero();
  }
  // A varint that must fit in `max`.
  std::uint64_t varint_max(std::uint64_t max) {
    const std::uint64_t v = varint();
    if (v > max) return fail_zero();
    return v;
  }
  std::string str(std::size_t max_len) {
    const std::uint64_t n = varint();
    if (!ok_ || n > max_len || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::span<const std::uint8_t> rest() const { return ok_ ? in_.subspan(pos_) : std::span<const std::uint8_t>{}; }

 private:
  std::uint8_t fail_zero() {
    ok_ = false;
    return 0;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace idunno::swim
