#include "ml/base/gzip.hpp"

#include <zlib.h>

#include <limits>

#include "ml/base/errors.hpp"

namespace idunno::ml {

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

namespace {
// Owns a zlib inflate stream so that every exit path releases it.
class Inflater {
 public:
  Inflater() {
    // 16 + MAX_WBITS: gzip wrapper only.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) throw DatasetError("cannot initialise zlib");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
};
}  // namespace

std::string gunzip(std::string_view bytes, std::string_view what, std::size_t max_output) {
  Inflater inflater;
  z_stream& zs = inflater.stream();
  std::string out;
  out.resize(std::max<std::size_t>(bytes.size() * 4, 1 << 16));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  constexpr std::size_t kChunk = std::numeric_limits<uInt>::max() / 2;
  for (;;) {
    if (out_pos == out.size()) {
      if (out.size() >= max_output) throw DatasetError(std::string(what) + ": decompressed size exceeds the limit");
      out.resize(std::min(out.size() * 2, max_output));
    }
    const std::size_t in_len = std::min(bytes.size() - in_pos, kChunk);
    const std::size_t out_len = std::min(out.size() - out_pos, kChunk);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_pos));
    zs.avail_in = static_cast<uInt>(in_len);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(out_len);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += in_len - zs.avail_in;
    out_pos += out_len - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // A gzip file may hold several members; continue with the next one.
      if (in_pos < bytes.size() && is_gzip(bytes.substr(in_pos))) {
        inflateReset(&zs);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && in_pos == bytes.size()) {
      throw DatasetError(std::string(what) + ": truncated gzip data (the file ends early; fetch it again)");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw DatasetError(std::string(what) + ": corrupt gzip data (" + (zs.msg ? zs.msg : "zlib error") + ")");
    }
  }
  out.resize(out_pos);
  return out;
}

std::string gunzip_prefix(std::string_view bytes, std::string_view what, std::size_t count) {
  Inflater inflater;
  z_stream& zs = inflater.stream();
  std::string out(count, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(std::min<std::size_t>(bytes.size(), std::numeric_limits<uInt>::max()));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(count);
  const int rc = inflate(&zs, Z_SYNC_FLUSH);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
    throw DatasetError(std::string(what) + ": corrupt gzip data (" + (zs.msg ? zs.msg : "zlib error") + ")");
  }
  out.resize(count - zs.avail_out);
  return out;
}

}  // namespace idunno::ml
