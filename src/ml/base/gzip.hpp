#pragma once
// gzip decompression for dataset files (Fashion-MNIST ships as .gz). Kept
// apart so that the IDX reader stays a pure byte parser.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace idunno::ml {

// True when `bytes` starts with the gzip magic (1f 8b).
bool is_gzip(std::string_view bytes);

// Inflates a gzip stream that arrives in pieces (concatenated members
// included; bytes after the last member that do not start another are
// ignored, as gzip(1) does), handing the output to `sink` as it is
// produced, at most 256 KiB at a time. Throws DatasetError naming `what` on
// corrupt data (from feed) and on a stream that ends early (from finish).
class GunzipStream {
 public:
  using Sink = std::function<void(std::string_view)>;
  GunzipStream(std::string_view what, Sink sink);
  ~GunzipStream();
  GunzipStream(const GunzipStream&) = delete;
  GunzipStream& operator=(const GunzipStream&) = delete;

  void feed(std::string_view bytes);
  // The input has ended: throws unless the last member was complete.
  void finish();

 private:
  struct Zlib;
  std::unique_ptr<Zlib> zlib_;
  std::string what_;
  Sink sink_;
  std::string out_;      // the output buffer
  std::string pending_;  // a lone byte after a member: maybe the next one's magic
  bool ended_ = false;   // the current member is complete
  bool trailing_ = false;  // what follows the last member is not gzip: ignored
};

// Inflates the gzip file `from` into the file `to` (created or truncated),
// streaming: memory does not grow with the file. Returns the bytes written.
// Throws DatasetError naming `what` on corrupt or truncated data, when the
// output would pass `max_output` bytes, and when a file cannot be read or
// written.
std::uint64_t gunzip_file(const std::filesystem::path& from, const std::filesystem::path& to, std::string_view what,
                          std::uint64_t max_output);

// Inflates a whole gzip stream (concatenated members included). Throws
// DatasetError naming `what` on a corrupt or truncated stream, or when the
// output would pass `max_output` bytes.
std::string gunzip(std::string_view bytes, std::string_view what,
                   std::size_t max_output = std::size_t{4} << 30);

// The first `count` bytes a gzip stream inflates to (fewer when `bytes`,
// the start of a stream, ends first): e.g. an IDX header from the first
// kilobytes of a .gz file. Throws DatasetError on corrupt data.
std::string gunzip_prefix(std::string_view bytes, std::string_view what, std::size_t count);

}  // namespace idunno::ml
