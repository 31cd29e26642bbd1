#include "net/frame.hpp"

#include <climits>
#include <stdexcept>

namespace idunno::net {

std::string encode_frame(const RpcFrame& frame, std::uint32_t max_frame_bytes) {
  const std::size_t body_size = frame.ByteSizeLong();
  if (body_size > max_frame_bytes) {
    throw std::length_error("rpc frame of " + std::to_string(body_size) + " bytes exceeds the limit of " +
                            std::to_string(max_frame_bytes) + " bytes (rpc.max_frame_bytes)");
  }
  std::string out(frame_header_bytes + body_size, '\0');
  const auto size = static_cast<std::uint32_t>(body_size);
  out[0] = static_cast<char>((size >> 24) & 0xff);
  out[1] = static_cast<char>((size >> 16) & 0xff);
  out[2] = static_cast<char>((size >> 8) & 0xff);
  out[3] = static_cast<char>(size & 0xff);
  if (!frame.SerializeToArray(out.data() + frame_header_bytes, static_cast<int>(body_size))) {
    throw std::runtime_error("rpc frame could not be serialized");
  }
  return out;
}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (failed_) return;
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

DecodeResult FrameDecoder::fail(std::string reason) {
  failed_ = reason;
  buffer_.clear();
  buffer_.shrink_to_fit();
  read_pos_ = 0;
  DecodeResult result;
  result.kind = DecodeResult::Kind::error;
  result.error = std::move(reason);
  return result;
}

void FrameDecoder::compact() {
  if (read_pos_ == 0) return;
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_pos_));
  read_pos_ = 0;
}

DecodeResult FrameDecoder::next() {
  if (failed_) {
    DecodeResult result;
    result.kind = DecodeResult::Kind::error;
    result.error = *failed_;
    return result;
  }
  const std::size_t available = buffer_.size() - read_pos_;
  if (available < frame_header_bytes) {
    compact();
    return {};
  }
  const std::uint8_t* header = buffer_.data() + read_pos_;
  const std::uint32_t length = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                               (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (length > max_frame_bytes_ || length > static_cast<std::uint32_t>(INT_MAX)) {
    return fail("oversized frame: " + std::to_string(length) + " bytes > limit " +
                std::to_string(max_frame_bytes_));
  }
  if (available - frame_header_bytes < length) {
    compact();
    return {};
  }
  DecodeResult result;
  if (!result.frame.ParseFromArray(header + frame_header_bytes, static_cast<int>(length))) {
    return fail("malformed frame: " + std::to_string(length) + " bytes that are not an RpcFrame");
  }
  read_pos_ += frame_header_bytes + length;
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  }
  result.kind = DecodeResult::Kind::frame;
  return result;
}

}  // namespace idunno::net
