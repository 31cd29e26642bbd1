#pragma once
// gzip decompression for dataset files (Fashion-MNIST ships as .gz). Kept
// apart so that the IDX reader stays a pure byte parser.

#include <string>
#include <string_view>

namespace idunno::ml {

// True when `bytes` starts with the gzip magic (1f 8b).
bool is_gzip(std::string_view bytes);

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
