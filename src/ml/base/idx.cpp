#include "ml/base/idx.hpp"

#include <string>

#include "ml/base/errors.hpp"

namespace idunno::ml {

namespace {
constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr std::size_t kMaxItemBytes = std::size_t{1} << 30;

std::uint32_t read_be32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}
}  // namespace

std::size_t IdxHeader::item_bytes() const {
  std::size_t bytes = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) bytes *= dims[i];
  return bytes;
}

IdxHeader parse_idx_header(std::string_view bytes, std::string_view what) {
  const std::string name(what);
  if (bytes.size() < 4) throw DatasetError(name + ": too short for an IDX file (" + std::to_string(bytes.size()) + " bytes)");
  const auto b0 = static_cast<unsigned char>(bytes[0]);
  const auto b1 = static_cast<unsigned char>(bytes[1]);
  const auto type = static_cast<unsigned char>(bytes[2]);
  const auto rank = static_cast<unsigned char>(bytes[3]);
  if (b0 != 0 || b1 != 0 || rank == 0 || rank > 4) {
    throw DatasetError(name + ": not an IDX file (wrong magic; expected an MNIST-style images or labels file)");
  }
  if (type != kUnsignedByte) {
    throw DatasetError(name + ": IDX data type " + std::to_string(type) + " is not supported (only unsigned bytes, type 8)");
  }
  IdxHeader header;
  header.header_bytes = 4 + 4 * static_cast<std::size_t>(rank);
  if (bytes.size() < header.header_bytes) throw DatasetError(name + ": truncated IDX header");
  for (std::size_t i = 0; i < rank; ++i) header.dims.push_back(read_be32(bytes, 4 + 4 * i));
  std::size_t item = 1;
  for (std::size_t i = 1; i < header.dims.size(); ++i) {
    if (header.dims[i] == 0) throw DatasetError(name + ": IDX dimension " + std::to_string(i) + " is zero");
    item *= header.dims[i];
    if (item > kMaxItemBytes) throw DatasetError(name + ": IDX items are implausibly large");
  }
  return header;
}

ByteRange idx_item_range(const IdxHeader& header, std::size_t begin, std::size_t end) {
  if (begin > end || end > header.count()) {
    throw DatasetError("item range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the " +
                       std::to_string(header.count()) + " items of the IDX file");
  }
  return {header.header_bytes + begin * header.item_bytes(), (end - begin) * header.item_bytes()};
}

void check_idx_complete(const IdxHeader& header, std::string_view bytes, std::string_view what) {
  const std::size_t expected = header.header_bytes + header.data_bytes();
  if (bytes.size() < expected) {
    throw DatasetError(std::string(what) + ": truncated (" + std::to_string(bytes.size()) + " bytes, the header announces " +
                       std::to_string(header.count()) + " items = " + std::to_string(expected) + " bytes)");
  }
  if (bytes.size() > expected) {
    throw DatasetError(std::string(what) + ": " + std::to_string(bytes.size() - expected) +
                       " unexpected bytes after the last item");
  }
}

}  // namespace idunno::ml
