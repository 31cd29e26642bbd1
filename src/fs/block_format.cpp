#include "fs/block_format.hpp"

#include <xxhash.h>

#include <algorithm>

namespace idunno::fs {

namespace {

void put_u16(std::string& out, std::uint16_t value) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const char* bytes, int count) {
  std::uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::uint32_t get_u32(const char* bytes) { return static_cast<std::uint32_t>(get_le(bytes, 4)); }
std::uint16_t get_u16(const char* bytes) { return static_cast<std::uint16_t>(get_le(bytes, 2)); }

std::uint64_t hash(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

[[noreturn]] void bad(const std::string& what) { throw BlockFormatError(what); }

// Decodes a header from the file's first bytes (at least the whole header).
BlockHeader decode_header(std::string_view bytes, std::uint64_t* checksum, std::uint64_t* header_bytes) {
  if (bytes.size() < kHeaderFixedBytes) bad("the header is cut short");
  const char* p = bytes.data();
  if (get_u32(p) != kBlockMagic) bad("not a block file (bad magic)");
  if (get_u16(p + 4) != kBlockFormatVersion) bad("unknown block format version " + std::to_string(get_u16(p + 4)));
  BlockHeader header;
  header.chunk_size = get_u32(p + 8);
  const std::uint32_t name_length = get_u32(p + 12);
  header.version = get_u64(p + 16);
  header.size = get_u64(p + 24);
  if (name_length == 0 || name_length > kMaxBlockNameBytes) bad("bad name length " + std::to_string(name_length));
  if (header.chunk_size == 0 || header.chunk_size > kMaxChunkSize) {
    bad("bad chunk size " + std::to_string(header.chunk_size));
  }
  if (header.size > kMaxBlockSize) bad("bad size " + std::to_string(header.size));
  const std::size_t checked = kHeaderFixedBytes + name_length;
  if (bytes.size() < checked + 8) bad("the header is cut short");
  *checksum = get_u64(p + checked);
  if (hash(bytes.substr(0, checked)) != *checksum) bad("header checksum mismatch");
  header.name.assign(p + kHeaderFixedBytes, name_length);
  *header_bytes = checked + 8;
  return header;
}

BlockFooter decode_footer(std::string_view bytes) {
  if (bytes.size() != kFooterBytes) bad("the footer is cut short");
  const char* p = bytes.data();
  if (get_u32(p + 24) != kBlockFooterMagic || get_u32(p + 28) != 0) bad("bad footer magic");
  if (hash(bytes.substr(0, 32)) != get_u64(p + 32)) bad("footer checksum mismatch");
  return {get_u64(p), get_u64(p + 8), get_u64(p + 16)};
}

}  // namespace

std::uint32_t BlockLayout::chunk_length(std::uint64_t index) const {
  const std::uint64_t start = index * chunk_size;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk_size, size - start));
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const char* bytes) { return get_le(bytes, 8); }

std::string encode_header(const BlockHeader& header) {
  std::string out;
  out.reserve(kHeaderFixedBytes + header.name.size() + 8);
  put_u32(out, kBlockMagic);
  put_u16(out, kBlockFormatVersion);
  put_u16(out, 0);
  put_u32(out, header.chunk_size);
  put_u32(out, static_cast<std::uint32_t>(header.name.size()));
  put_u64(out, header.version);
  put_u64(out, header.size);
  out += header.name;
  put_u64(out, hash(out));
  return out;
}

std::uint64_t header_checksum(std::string_view encoded_header) {
  return get_u64(encoded_header.data() + encoded_header.size() - 8);
}

std::string encode_footer(const BlockFooter& footer) {
  std::string out;
  out.reserve(kFooterBytes);
  put_u64(out, footer.size);
  put_u64(out, footer.content_checksum);
  put_u64(out, footer.header_checksum);
  put_u32(out, kBlockFooterMagic);
  put_u32(out, 0);
  put_u64(out, hash(out));
  return out;
}

BlockMeta read_block_meta(core::DiskFile& file) {
  const std::uint64_t file_size = file.size();
  // One read covers the longest possible header.
  const auto first = file.read(0, std::min<std::uint64_t>(file_size, kHeaderFixedBytes + kMaxBlockNameBytes + 8));
  BlockMeta meta;
  std::uint64_t checksum = 0;
  std::uint64_t header_bytes = 0;
  meta.header = decode_header(first, &checksum, &header_bytes);
  meta.layout = {header_bytes, meta.header.size, meta.header.chunk_size};
  if (file_size != meta.layout.file_size()) {
    bad("the file is " + std::to_string(file_size) + " bytes, its header says " +
        std::to_string(meta.layout.file_size()) + " (truncated or torn)");
  }
  meta.footer = decode_footer(file.read(meta.layout.footer_offset(), kFooterBytes));
  if (meta.footer.size != meta.header.size || meta.footer.header_checksum != checksum) {
    bad("the footer does not match the header");
  }
  return meta;
}

}  // namespace idunno::fs
