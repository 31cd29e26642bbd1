// The data-stream frame codec: round trips in any chunking, and every kind
// of bad input refused with a reason.
#include "net/data_stream_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace idunno::net {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string raw_header(std::uint8_t type, std::uint32_t id, std::uint32_t length) {
  std::string out;
  append_stream_frame_header(out, static_cast<StreamFrameType>(type), id, length);
  return out;
}

std::string decode_error(const std::string& bytes) {
  StreamFrameDecoder decoder;
  decoder.feed(bytes_of(bytes));
  auto result = decoder.next();
  return result.kind == StreamDecodeResult::Kind::error ? result.error : "";
}

TEST(DataStreamFrame, RoundTripsByteByByte) {
  std::string wire = encode_stream_frame(StreamFrameType::data, 7, "hello");
  wire += encode_credit_frame(7, 1ull << 33);
  wire += encode_stream_frame(StreamFrameType::end, 7, "crc=1");
  wire += encode_stream_frame(StreamFrameType::keepalive, 7, "");
  StreamFrameDecoder decoder;
  std::vector<StreamFrame> frames;
  for (char c : wire) {
    decoder.feed(bytes_of(std::string(1, c)));
    for (auto r = decoder.next(); r.kind == StreamDecodeResult::Kind::frame; r = decoder.next()) {
      frames.push_back(std::move(r.frame));
    }
  }
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].type, StreamFrameType::data);
  EXPECT_EQ(frames[0].stream_id, 7u);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].type, StreamFrameType::credit);
  EXPECT_EQ(credit_of(frames[1]), 1ull << 33);
  EXPECT_EQ(frames[2].payload, "crc=1");
  EXPECT_EQ(frames[3].type, StreamFrameType::keepalive);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(DataStreamFrame, PrepareAndCommitReceiveInPlace) {
  const std::string wire = encode_stream_frame(StreamFrameType::data, 1, std::string(100000, 'd'));
  StreamFrameDecoder decoder;
  std::size_t offset = 0;
  while (offset < wire.size()) {
    auto room = decoder.prepare(4096);
    const std::size_t n = std::min(room.size(), wire.size() - offset);
    std::copy_n(wire.data() + offset, n, room.data());
    decoder.commit(n);
    offset += n;
  }
  auto result = decoder.next();
  ASSERT_EQ(result.kind, StreamDecodeResult::Kind::frame);
  EXPECT_EQ(result.frame.payload, std::string(100000, 'd'));
}

TEST(DataStreamFrame, BadInputIsRefusedWithAReason) {
  EXPECT_NE(decode_error(raw_header(42, 1, 0)).find("unknown frame type 42"), std::string::npos);
  EXPECT_NE(decode_error(raw_header(3, 1, max_stream_data_frame + 1)).find("data frame of"), std::string::npos);
  EXPECT_NE(decode_error(raw_header(1, 1, max_stream_control_frame + 1)).find("open frame of"), std::string::npos);
  EXPECT_NE(decode_error(raw_header(4, 1, 7) + "1234567").find("credit frame of 7 bytes"), std::string::npos);
  EXPECT_NE(decode_error(raw_header(7, 1, 1) + "x").find("keep-alive frame of 1 bytes"), std::string::npos);
  // A header alone waits for more; a failed decoder stays failed.
  StreamFrameDecoder decoder;
  decoder.feed(bytes_of(raw_header(3, 1, 10)));
  EXPECT_EQ(decoder.next().kind, StreamDecodeResult::Kind::need_more);
  StreamFrameDecoder broken;
  broken.feed(bytes_of(raw_header(99, 1, 0)));
  EXPECT_EQ(broken.next().kind, StreamDecodeResult::Kind::error);
  broken.feed(bytes_of(encode_stream_frame(StreamFrameType::keepalive, 1, "")));
  EXPECT_EQ(broken.next().kind, StreamDecodeResult::Kind::error);
}

TEST(DataStreamFrame, EncodeRefusesOversizedPayloads) {
  EXPECT_THROW(encode_stream_frame(StreamFrameType::end, 1, std::string(max_stream_control_frame + 1, 't')),
               std::length_error);
  EXPECT_NO_THROW(encode_stream_frame(StreamFrameType::data, 1, std::string(max_stream_data_frame, 'd')));
}

}  // namespace
}  // namespace idunno::net
