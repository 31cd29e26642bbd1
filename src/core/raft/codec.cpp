#include "core/raft/codec.hpp"

#include <boost/crc.hpp>

namespace idunno::raft {

void Writer::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::bytes(std::string_view v) {
  if (v.size() > 0xffffffffu) throw std::length_error("value too long to encode");
  u32(static_cast<std::uint32_t>(v.size()));
  out_.append(v);
}

std::string_view Reader::take(std::size_t n) {
  if (n > remaining()) throw DecodeError("truncated input");
  auto part = in_.substr(pos_, n);
  pos_ += n;
  return part;
}

std::uint8_t Reader::u8() { return static_cast<std::uint8_t>(take(1)[0]); }

std::uint32_t Reader::u32() {
  auto b = take(4);
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(b[static_cast<std::size_t>(i)]);
  return v;
}

std::uint64_t Reader::u64() {
  auto b = take(8);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(b[static_cast<std::size_t>(i)]);
  return v;
}

std::string Reader::bytes() {
  const std::uint32_t n = u32();
  return std::string(take(n));
}

std::uint32_t crc32c(std::string_view data) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

std::uint32_t crc32c(const std::vector<std::string_view>& pieces) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  for (const auto piece : pieces) crc.process_bytes(piece.data(), piece.size());
  return crc.checksum();
}

namespace {
void write_members(Writer& w, const std::map<NodeName, std::string>& members) {
  w.u32(static_cast<std::uint32_t>(members.size()));
  for (const auto& [name, address] : members) {
    w.bytes(name);
    w.bytes(address);
  }
}

std::map<NodeName, std::string> read_members(Reader& r) {
  const std::uint32_t n = r.u32();
  // Each member takes at least 8 bytes: a count beyond that is garbage.
  if (n > r.remaining() / 8) throw DecodeError("member count exceeds input");
  std::map<NodeName, std::string> members;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto name = r.bytes();
    auto address = r.bytes();
    if (name.empty()) throw DecodeError("empty member name");
    members.emplace(std::move(name), std::move(address));
  }
  return members;
}
}  // namespace

void write_configuration(Writer& w, const Configuration& config) {
  write_members(w, config.voters);
  write_members(w, config.learners);
}

Configuration read_configuration(Reader& r) {
  Configuration config;
  config.voters = read_members(r);
  config.learners = read_members(r);
  for (const auto& [name, address] : config.voters) {
    if (config.learners.contains(name)) throw DecodeError("member is both voter and learner: " + name);
  }
  return config;
}

std::string encode_configuration(const Configuration& config) {
  std::string out;
  Writer w(out);
  write_configuration(w, config);
  return out;
}

Configuration decode_configuration(std::string_view bytes) {
  Reader r(bytes);
  auto config = read_configuration(r);
  if (!r.done()) throw DecodeError("trailing bytes after configuration");
  return config;
}

void write_entry(Writer& w, const LogEntry& entry) {
  w.u64(entry.term);
  w.u64(entry.index);
  w.u8(static_cast<std::uint8_t>(entry.type));
  w.bytes(entry.data);
}

LogEntry read_entry(Reader& r) {
  LogEntry entry;
  entry.term = r.u64();
  entry.index = r.u64();
  const auto type = r.u8();
  if (type > static_cast<std::uint8_t>(EntryType::config)) throw DecodeError("unknown entry type");
  entry.type = static_cast<EntryType>(type);
  entry.data = r.bytes();
  return entry;
}

void write_snapshot_meta(Writer& w, const SnapshotMeta& meta) {
  w.u64(meta.last_index);
  w.u64(meta.last_term);
  write_configuration(w, meta.config);
}

SnapshotMeta read_snapshot_meta(Reader& r) {
  SnapshotMeta meta;
  meta.last_index = r.u64();
  meta.last_term = r.u64();
  meta.config = read_configuration(r);
  return meta;
}

}  // namespace idunno::raft
