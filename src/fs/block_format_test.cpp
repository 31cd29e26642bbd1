// The block file format is what block_format.hpp documents, byte for byte:
// a replica written today is readable by tomorrow's node.

#include "fs/block_format.hpp"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "core/fake_disk.hpp"
#include "fs/block_store.hpp"
#include "fs/block_store_test_util.hpp"

namespace idunno::fs {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : bytes) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

std::string le64(std::uint64_t value) {
  std::string out;
  put_u64(out, value);
  return out;
}

TEST(BlockFormat, TheHeaderIsLaidOutAsDocumented) {
  const auto header = encode_header({"ab", 2, 3, 16});
  ASSERT_EQ(header.size(), kHeaderFixedBytes + 2 + 8);
  EXPECT_EQ(hex(header.substr(0, 34)),
            "4944424b"            // magic "IDBK"
            "0100"                // format version 1
            "0000"                // flags 0
            "10000000"            // chunk size 16
            "02000000"            // name length 2
            "0200000000000000"    // version 2
            "0300000000000000"    // size 3
            "6162");              // "ab"
  EXPECT_EQ(header.substr(34), le64(XXH3_64bits(header.data(), 34)));
  EXPECT_EQ(header_checksum(header), XXH3_64bits(header.data(), 34));
}

TEST(BlockFormat, TheLayoutPlacesEachChunkWithItsChecksumThenTheFooter) {
  const auto layout = BlockLayout::of(2, 40, 16);
  EXPECT_EQ(layout.header_bytes, 42u);
  EXPECT_EQ(layout.chunk_count(), 3u);
  EXPECT_EQ(layout.chunk_offset(1), 42u + 24);
  EXPECT_EQ(layout.chunk_length(2), 8u);
  EXPECT_EQ(layout.footer_offset(), 42u + 40 + 3 * 8);
  EXPECT_EQ(layout.file_size(), layout.footer_offset() + kFooterBytes);
  EXPECT_EQ(BlockLayout::of(2, 0, 16).file_size(), 42u + kFooterBytes);
}

TEST(BlockFormat, AWrittenBlockIsHeaderChunksWithChecksumsAndFooter) {
  core::FakeDisk disk;
  BlockStore store(disk, "/node", 16);
  const auto data = test::content(20, 1);
  const auto info = test::write_block(store, "ab", 7, data);
  const std::string bytes(data.begin(), data.end());
  const auto header = encode_header({"ab", 7, 20, 16});
  const auto expected = header + bytes.substr(0, 16) + le64(XXH3_64bits(bytes.data(), 16)) + bytes.substr(16) +
                        le64(XXH3_64bits(bytes.data() + 16, 4)) +
                        encode_footer({20, XXH3_64bits(bytes.data(), 20), header_checksum(header)});
  EXPECT_EQ(disk.content(store.block_path("ab", 7)), expected);
  EXPECT_EQ(info.checksum, XXH3_64bits(bytes.data(), 20));

  const auto footer = encode_footer({20, 5, 6});
  EXPECT_EQ(hex(footer.substr(24, 8)), "4944424500000000");  // "IDBE", 0
  EXPECT_EQ(footer.substr(32), le64(XXH3_64bits(footer.data(), 32)));

  auto file = disk.open(store.block_path("ab", 7), core::Disk::Open::existing);
  const auto meta = read_block_meta(*file);
  EXPECT_EQ(meta.header.name, "ab");
  EXPECT_EQ(meta.header.version, 7u);
  EXPECT_EQ(meta.footer.content_checksum, info.checksum);
}

TEST(BlockFormat, AHeaderClaimingHugeSizesIsRejectedBeforeAnyAllocation) {
  core::FakeDisk disk;
  disk.create_directories("/d");
  for (const auto& header : {encode_header({"x", 1, 1, kMaxChunkSize + 1}),
                             encode_header({"x", 1, kMaxBlockSize + 1, 16}), encode_header({"", 1, 1, 16})}) {
    disk.put_durable("/d/f", header + std::string(100, '\0'));
    auto file = disk.open("/d/f", core::Disk::Open::existing);
    EXPECT_THROW(read_block_meta(*file), BlockFormatError);
  }
}

}  // namespace
}  // namespace idunno::fs
