#pragma once
// The on-disk format of one block file: one version of one SDFS file.
//
// Why a format of its own: a replica must prove, on every read, that the
// bytes it serves are the bytes that were written, and a restarted node must
// learn which (name, version) each file holds without trusting file names.
// So the file carries its identity in a checksummed header, a checksum
// beside every chunk, and a checksummed footer written last.
//
// Layout (every integer little-endian):
//   header   u32 magic "IDBK" | u16 format version (1) | u16 flags (0)
//            | u32 chunk_size | u32 name_length | u64 version | u64 size
//            | name bytes | u64 XXH3-64 of everything before it in the header
//   chunks   for i in [0, ceil(size / chunk_size)): the chunk's bytes
//            (chunk_size, the last one shorter) then u64 XXH3-64 of them
//   footer   u64 size | u64 XXH3-64 of the whole content | u64 the header's
//            checksum | u32 magic "IDBE" | u32 0 | u64 XXH3-64 of the 32
//            bytes before it
// Chunk i starts at header_bytes + i * (chunk_size + 8), so a range read
// reads and verifies only the chunks it covers, and a writer needs no
// memory beyond the chunk it is filling. The footer is written last: a file
// without a valid footer, or of any other length than the layout gives, was
// torn or truncated.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/disk.hpp"

namespace idunno::fs {

inline constexpr std::uint32_t kBlockMagic = 0x4B424449;        // "IDBK"
inline constexpr std::uint32_t kBlockFooterMagic = 0x45424449;  // "IDBE"
inline constexpr std::uint16_t kBlockFormatVersion = 1;
inline constexpr std::size_t kHeaderFixedBytes = 32;
inline constexpr std::size_t kChunkChecksumBytes = 8;
inline constexpr std::size_t kFooterBytes = 40;
// Bounds that keep a reader's allocations small whatever a header says.
inline constexpr std::size_t kMaxBlockNameBytes = 4096;
inline constexpr std::uint32_t kMaxChunkSize = 64u << 20;
inline constexpr std::uint64_t kMaxBlockSize = std::uint64_t{1} << 50;

// A header or footer that does not decode; the store reports it as a
// CorruptBlock (open) or a bad file (list).
class BlockFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BlockHeader {
  std::string name;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  std::uint32_t chunk_size = 0;
};

struct BlockFooter {
  std::uint64_t size = 0;
  std::uint64_t content_checksum = 0;
  std::uint64_t header_checksum = 0;
};

// Where everything of one block file sits.
struct BlockLayout {
  std::uint64_t header_bytes = 0;
  std::uint64_t size = 0;
  std::uint32_t chunk_size = 1;

  static BlockLayout of(std::size_t name_length, std::uint64_t size, std::uint32_t chunk_size) {
    return {kHeaderFixedBytes + name_length + 8, size, chunk_size};
  }
  std::uint64_t chunk_count() const { return (size + chunk_size - 1) / chunk_size; }
  std::uint64_t chunk_offset(std::uint64_t index) const {
    return header_bytes + index * (std::uint64_t{chunk_size} + kChunkChecksumBytes);
  }
  std::uint32_t chunk_length(std::uint64_t index) const;
  std::uint64_t footer_offset() const { return header_bytes + size + chunk_count() * kChunkChecksumBytes; }
  std::uint64_t file_size() const { return footer_offset() + kFooterBytes; }
};

// The header's bytes, its checksum included.
std::string encode_header(const BlockHeader& header);
std::uint64_t header_checksum(std::string_view encoded_header);
std::string encode_footer(const BlockFooter& footer);
void put_u64(std::string& out, std::uint64_t value);
std::uint64_t get_u64(const char* bytes);

// What a block file says about itself, once its header, footer and length
// agree.
struct BlockMeta {
  BlockHeader header;
  BlockFooter footer;
  BlockLayout layout;
};

// Reads and checks the header and footer of `file` and its length against
// them. Throws BlockFormatError naming what is wrong; DiskError from the disk
// passes through.
BlockMeta read_block_meta(core::DiskFile& file);

}  // namespace idunno::fs
