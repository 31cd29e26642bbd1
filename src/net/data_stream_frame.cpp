#include "net/data_stream_frame.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace idunno::net {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

// The largest payload a frame of `type` may carry; nullopt for an unknown
// type.
std::optional<std::uint32_t> limit_of(std::uint8_t type) {
  switch (static_cast<StreamFrameType>(type)) {
    case StreamFrameType::data: return max_stream_data_frame;
    case StreamFrameType::credit: return 8;
    case StreamFrameType::keepalive: return 0;
    case StreamFrameType::open:
    case StreamFrameType::open_reply:
    case StreamFrameType::end:
    case StreamFrameType::cancel: return max_stream_control_frame;
  }
  return std::nullopt;
}

const char* name_of(StreamFrameType type) {
  switch (type) {
    case StreamFrameType::open: return "open";
    case StreamFrameType::open_reply: return "open reply";
    case StreamFrameType::data: return "data";
    case StreamFrameType::credit: return "credit";
    case StreamFrameType::end: return "end";
    case StreamFrameType::cancel: return "cancel";
    case StreamFrameType::keepalive: return "keep-alive";
  }
  return "unknown";
}

}  // namespace

void append_stream_frame_header(std::string& out, StreamFrameType type, std::uint32_t stream_id,
                                std::uint32_t length) {
  out.push_back(static_cast<char>(type));
  put_u32(out, stream_id);
  put_u32(out, length);
}

std::string encode_stream_frame(StreamFrameType type, std::uint32_t stream_id, std::string_view payload) {
  const auto limit = limit_of(static_cast<std::uint8_t>(type));
  if (!limit || payload.size() > *limit) {
    throw std::length_error(std::string(name_of(type)) + " frame of " + std::to_string(payload.size()) +
                            " bytes exceeds its limit");
  }
  std::string out;
  out.reserve(stream_frame_header_bytes + payload.size());
  append_stream_frame_header(out, type, stream_id, static_cast<std::uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

std::string encode_credit_frame(std::uint32_t stream_id, std::uint64_t grant) {
  std::string payload;
  put_u32(payload, static_cast<std::uint32_t>(grant >> 32));
  put_u32(payload, static_cast<std::uint32_t>(grant & 0xffffffffu));
  return encode_stream_frame(StreamFrameType::credit, stream_id, payload);
}

std::uint64_t credit_of(const StreamFrame& frame) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(frame.payload.data());
  return (std::uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

void StreamFrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (failed_) return;
  auto room = prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), room.begin());
  commit(bytes.size());
}

std::span<std::uint8_t> StreamFrameDecoder::prepare(std::size_t size) {
  if (read_pos_ > 0 && buffer_.size() - end_ < size) compact();
  if (buffer_.size() - end_ < size) buffer_.resize(end_ + size);
  return {buffer_.data() + end_, size};
}

void StreamFrameDecoder::commit(std::size_t size) {
  if (failed_) return;
  end_ = std::min(end_ + size, buffer_.size());
}

void StreamFrameDecoder::compact() {
  if (read_pos_ == 0) return;
  std::memmove(buffer_.data(), buffer_.data() + read_pos_, end_ - read_pos_);
  end_ -= read_pos_;
  read_pos_ = 0;
}

StreamDecodeResult StreamFrameDecoder::fail(std::string reason) {
  failed_ = reason;
  buffer_.clear();
  buffer_.shrink_to_fit();
  read_pos_ = end_ = 0;
  StreamDecodeResult result;
  result.kind = StreamDecodeResult::Kind::error;
  result.error = std::move(reason);
  return result;
}

StreamDecodeResult StreamFrameDecoder::next() {
  if (failed_) {
    StreamDecodeResult result;
    result.kind = StreamDecodeResult::Kind::error;
    result.error = *failed_;
    return result;
  }
  const std::size_t available = end_ - read_pos_;
  if (available < stream_frame_header_bytes) return {};
  const std::uint8_t* header = buffer_.data() + read_pos_;
  const std::uint8_t type = header[0];
  const std::uint32_t stream_id = get_u32(header + 1);
  const std::uint32_t length = get_u32(header + 5);
  const auto limit = limit_of(type);
  if (!limit) return fail("unknown frame type " + std::to_string(type));
  const auto kind = static_cast<StreamFrameType>(type);
  if (kind == StreamFrameType::credit && length != 8) {
    return fail("credit frame of " + std::to_string(length) + " bytes (must be 8)");
  }
  if (length > *limit) {
    return fail(std::string(name_of(kind)) + " frame of " + std::to_string(length) + " bytes > limit " +
                std::to_string(*limit));
  }
  if (available - stream_frame_header_bytes < length) return {};
  StreamDecodeResult result;
  result.kind = StreamDecodeResult::Kind::frame;
  result.frame.type = kind;
  result.frame.stream_id = stream_id;
  result.frame.payload.assign(reinterpret_cast<const char*>(header + stream_frame_header_bytes), length);
  read_pos_ += stream_frame_header_bytes + length;
  if (read_pos_ == end_) read_pos_ = end_ = 0;
  return result;
}

}  // namespace idunno::net
