#pragma once
// Framing of the data-stream wire: 1-byte type, 4-byte big-endian stream
// id, 4-byte big-endian length, payload.
//
// Why: file bytes must go through with little overhead and no protobuf
// copy, while every byte from the network stays hostile until checked. The
// decoder is pure (no I/O): it takes bytes in any chunking and yields whole
// frames or one error, checking the type, the length limit of each type
// and the fixed sizes (credit: 8 bytes, keep-alive: none), so the
// connection and a fuzzer use the same code. The connection receives
// straight into the decoder's buffer (prepare/commit). Not thread-safe; one
// decoder per connection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::net {

enum class StreamFrameType : std::uint8_t {
  open = 1,        // StreamOpen (client to server)
  open_reply = 2,  // StreamOpenReply (server to client)
  data = 3,        // raw bytes of the stream
  credit = 4,      // 8-byte big-endian grant: the sender may send that many more bytes
  end = 5,         // end of this direction; payload: the trailer (e.g. a checksum or a result)
  cancel = 6,      // StreamCancel
  keepalive = 7,   // nothing; proves the peer is alive while a stream waits
};

inline constexpr std::size_t stream_frame_header_bytes = 9;
// Largest data frame anyone may send (a sender uses stream.frame_bytes).
inline constexpr std::uint32_t max_stream_data_frame = 1024 * 1024;
// Largest open, reply, end (trailer) or cancel frame.
inline constexpr std::uint32_t max_stream_control_frame = 64 * 1024;

struct StreamFrame {
  StreamFrameType type = StreamFrameType::keepalive;
  std::uint32_t stream_id = 0;
  std::string payload;
};

// A frame header for a payload of `length` bytes, appended to `out`.
void append_stream_frame_header(std::string& out, StreamFrameType type, std::uint32_t stream_id,
                                std::uint32_t length);
// A whole frame. Throws std::length_error when the payload exceeds the
// type's limit.
std::string encode_stream_frame(StreamFrameType type, std::uint32_t stream_id, std::string_view payload);
std::string encode_credit_frame(std::uint32_t stream_id, std::uint64_t grant);
// The grant of a decoded credit frame.
std::uint64_t credit_of(const StreamFrame& frame);

struct StreamDecodeResult {
  enum class Kind { frame, need_more, error };
  Kind kind = Kind::need_more;
  StreamFrame frame;  // set when kind == frame
  std::string error;  // set when kind == error
};

class StreamFrameDecoder {
 public:
  // Appends received bytes (copying). Ignored once failed.
  void feed(std::span<const std::uint8_t> bytes);
  // Room for at least `size` more bytes; commit() what was written there.
  std::span<std::uint8_t> prepare(std::size_t size);
  void commit(std::size_t size);

  // The next frame, need_more, or an error ("unknown frame type 9",
  // "data frame of 2000000 bytes > limit 1048576", ...). After an error the
  // decoder stays failed: the connection has lost its framing.
  StreamDecodeResult next();

  // Received bytes not yet returned as frames.
  std::size_t buffered_bytes() const { return end_ - read_pos_; }
  bool failed() const { return failed_.has_value(); }

 private:
  StreamDecodeResult fail(std::string reason);
  void compact();

  std::vector<std::uint8_t> buffer_;
  std::size_t read_pos_ = 0;
  std::size_t end_ = 0;
  std::optional<std::string> failed_;
};

}  // namespace idunno::net
