#include "fs/sdfs_name.hpp"

#include <cstdint>

namespace idunno::fs {

namespace {

std::string at(std::size_t offset) { return " at byte " + std::to_string(offset); }

// The code point starting at name[i] and its length in bytes, or an error.
struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;
  const char* error = nullptr;
};

Decoded decode_one(std::string_view name, std::size_t i) {
  const auto lead = static_cast<std::uint8_t>(name[i]);
  if (lead < 0x80) return {lead, 1, nullptr};
  // Lead byte pattern: the sequence length, the lead's payload bits and the
  // smallest code point that needs this length (smaller is overlong).
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1Fu;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0Fu;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07u;
    min = 0x10000;
  } else {
    return {0, 0, "is not valid UTF-8 (a byte that cannot start a character)"};
  }
  if (name.size() - i < length) return {0, 0, "is not valid UTF-8 (a character cut off at the end)"};
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<std::uint8_t>(name[i + k]);
    if ((next & 0xC0) != 0x80) return {0, 0, "is not valid UTF-8 (a character cut short)"};
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < min) return {0, 0, "is not valid UTF-8 (an overlong encoding)"};
  if (cp >= 0xD800 && cp <= 0xDFFF) return {0, 0, "is not valid UTF-8 (an encoded surrogate)"};
  if (cp > 0x10FFFF) return {0, 0, "is not valid UTF-8 (a code point above U+10FFFF)"};
  return {cp, length, nullptr};
}

}  // namespace

std::optional<std::string> sdfs_name_error(std::string_view name) {
  if (name.empty()) return "an SDFS name must not be empty";
  if (name.size() > kMaxSdfsNameBytes) {
    return "an SDFS name is at most " + std::to_string(kMaxSdfsNameBytes) + " bytes; this one has " +
           std::to_string(name.size());
  }
  for (std::size_t i = 0; i < name.size();) {
    const auto decoded = decode_one(name, i);
    if (decoded.error) return std::string("the SDFS name ") + decoded.error + at(i);
    const auto cp = decoded.code_point;
    if (cp == 0) return "the SDFS name contains a NUL byte" + at(i);
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return "the SDFS name contains a control character" + at(i);
    }
    i += decoded.length;
  }
  return std::nullopt;
}

}  // namespace idunno::fs
