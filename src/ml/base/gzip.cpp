#include "ml/base/gzip.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

constexpr std::size_t kOutputChunk = std::size_t{256} << 10;
// zlib counts in uInt; larger inputs go in pieces.
constexpr std::size_t kInputChunk = std::numeric_limits<uInt>::max() / 2;

std::string corrupt(std::string_view what, const z_stream& zs) {
  return std::string(what) + ": corrupt gzip data (" + (zs.msg != nullptr ? zs.msg : "zlib error") + ")";
}
}  // namespace

struct GunzipStream::Zlib {
  Inflater inflater;
};

GunzipStream::GunzipStream(std::string_view what, Sink sink)
    : zlib_(std::make_unique<Zlib>()), what_(what), sink_(std::move(sink)), out_(kOutputChunk, '\0') {}

GunzipStream::~GunzipStream() = default;

void GunzipStream::feed(std::string_view bytes) {
  if (trailing_) return;
  std::string joined;
  if (!pending_.empty()) {
    joined = pending_ + std::string(bytes);
    pending_.clear();
    bytes = joined;
  }
  z_stream& zs = zlib_->inflater.stream();
  while (!bytes.empty()) {
    if (ended_) {
      if (bytes.size() < 2) {
        pending_ = std::string(bytes);  // too short to tell: wait for more
        return;
      }
      if (!is_gzip(bytes)) {
        trailing_ = true;
        return;
      }
      inflateReset(&zs);
      ended_ = false;
    }
    const std::size_t given = std::min(bytes.size(), kInputChunk);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(given);
    for (;;) {
      zs.next_out = reinterpret_cast<Bytef*>(out_.data());
      zs.avail_out = static_cast<uInt>(out_.size());
      const int rc = inflate(&zs, Z_NO_FLUSH);
      const std::size_t produced = out_.size() - zs.avail_out;
      if (produced > 0) sink_(std::string_view(out_.data(), produced));
      if (rc == Z_STREAM_END) {
        ended_ = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw DatasetError(corrupt(what_, zs));
      // Z_BUF_ERROR: no progress was possible, so all input is taken.
      if (zs.avail_in == 0 && zs.avail_out != 0) break;
      if (rc == Z_BUF_ERROR) break;
    }
    bytes.remove_prefix(given - zs.avail_in);
  }
}

void GunzipStream::finish() {
  if (!ended_) throw DatasetError(what_ + ": truncated gzip data (the file ends early; fetch it again)");
}

std::string gunzip(std::string_view bytes, std::string_view what, std::size_t max_output) {
  std::string out;
  out.reserve(std::min(std::max<std::size_t>(bytes.size() * 4, 1 << 16), max_output));
  GunzipStream stream(what, [&](std::string_view piece) {
    if (piece.size() > max_output - out.size()) {
      throw DatasetError(std::string(what) + ": decompressed size exceeds the limit");
    }
    out.append(piece);
  });
  stream.feed(bytes);
  stream.finish();
  return out;
}

namespace {
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const std::filesystem::path& path, const char* mode, std::string_view what) {
  File file(std::fopen(path.c_str(), mode));
  if (!file) throw DatasetError(std::string(what) + ": cannot open " + path.string() + ": " + std::strerror(errno));
  return file;
}
}  // namespace

std::uint64_t gunzip_file(const std::filesystem::path& from, const std::filesystem::path& to, std::string_view what,
                          std::uint64_t max_output) {
  const File in = open_file(from, "rb", what);
  const File out = open_file(to, "wb", what);
  std::uint64_t written = 0;
  GunzipStream stream(what, [&](std::string_view piece) {
    if (piece.size() > max_output - written) {
      throw DatasetError(std::string(what) + ": decompressed size exceeds " + std::to_string(max_output) + " bytes");
    }
    if (std::fwrite(piece.data(), 1, piece.size(), out.get()) != piece.size()) {
      throw DatasetError(std::string(what) + ": cannot write " + to.string() + ": " + std::strerror(errno));
    }
    written += piece.size();
  });
  std::string buffer(std::size_t{1} << 20, '\0');
  for (;;) {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), in.get());
    if (got > 0) stream.feed(std::string_view(buffer.data(), got));
    if (got < buffer.size()) {
      if (std::ferror(in.get()) != 0) {
        throw DatasetError(std::string(what) + ": cannot read " + from.string() + ": " + std::strerror(errno));
      }
      break;
    }
  }
  stream.finish();
  if (std::fflush(out.get()) != 0) {
    throw DatasetError(std::string(what) + ": cannot write " + to.string() + ": " + std::strerror(errno));
  }
  return written;
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
