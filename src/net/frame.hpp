#pragma once
// Framing of the cluster RPC wire: 4-byte big-endian length + RpcFrame.
//
// Why: a stream carries bytes, RPC needs whole messages, and every byte from
// the network is hostile until checked. FrameDecoder is pure (no I/O, no
// allocation beyond the frame being assembled): it takes bytes in any
// chunking and yields frames or one error, so the RPC connection and the
// fuzzer use the exact same code. Not thread-safe; one decoder per
// connection direction.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/rpc.pb.h"

namespace idunno::net {

inline constexpr std::size_t frame_header_bytes = 4;

// Serializes `frame` with its length prefix. Throws std::length_error when
// the body exceeds `max_frame_bytes` (the peer would reject it).
std::string encode_frame(const RpcFrame& frame, std::uint32_t max_frame_bytes);

// Result of FrameDecoder::next().
struct DecodeResult {
  enum class Kind { frame, need_more, error };
  Kind kind = Kind::need_more;
  RpcFrame frame;     // set when kind == frame
  std::string error;  // set when kind == error: why the stream is unusable
};

class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes. Ignored once the decoder is in error.
  void feed(std::span<const std::uint8_t> bytes);

  // The next complete frame, need_more, or an error ("oversized frame: N
  // bytes > limit M", "malformed frame: ..."). After an error the decoder
  // stays in error: the stream has lost its framing and must be closed.
  DecodeResult next();

  // Bytes received but not yet returned as frames. Non-zero at end of
  // stream means the peer sent a truncated frame.
  std::size_t buffered_bytes() const { return buffer_.size() - read_pos_; }

  bool failed() const { return failed_.has_value(); }
  std::uint32_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  DecodeResult fail(std::string reason);
  void compact();

  std::uint32_t max_frame_bytes_;
  std::vector<std::uint8_t> buffer_;
  std::size_t read_pos_ = 0;
  std::optional<std::string> failed_;
};

}  // namespace idunno::net
