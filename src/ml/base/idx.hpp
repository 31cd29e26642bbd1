#pragma once
// The IDX file format (MNIST, Fashion-MNIST): a 4-byte magic (0, 0, type,
// dimension count), big-endian 32-bit dimensions, then the items. A pure
// byte parser: it checks every size against the bytes it is given and knows
// nothing of files, so SDFS can hand it whole files or byte ranges.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace idunno::ml {

// The header of an IDX file. Only unsigned-byte data (type 0x08) is
// supported: that is what image and label files use.
struct IdxHeader {
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes = 0;

  std::size_t count() const { return dims.empty() ? 0 : dims[0]; }
  // Bytes of one item (the product of the dimensions after the first).
  std::size_t item_bytes() const;
  std::size_t data_bytes() const { return count() * item_bytes(); }
};

// Parses the header at the start of `bytes`. Throws DatasetError naming
// `what` on a wrong magic, an unsupported type or a short header.
IdxHeader parse_idx_header(std::string_view bytes, std::string_view what);

// Byte range [offset, offset + length) of items [begin, end) in the file.
struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
ByteRange idx_item_range(const IdxHeader& header, std::size_t begin, std::size_t end);

// Checks that `bytes` (a whole file) holds every item its header announces;
// throws DatasetError naming `what` otherwise.
void check_idx_complete(const IdxHeader& header, std::string_view bytes, std::string_view what);

}  // namespace idunno::ml
