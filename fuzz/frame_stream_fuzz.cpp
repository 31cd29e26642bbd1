// libFuzzer target for the data-stream frame decoder and the metadata
// messages inside its frames: arbitrary bytes, fed in arbitrary chunks
// (copied or received in place), must never crash, over-read or loop; every
// frame it yields respects its type's limits and survives a re-encode
// unchanged.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "net/data_stream.pb.h"
#include "net/data_stream_frame.hpp"

namespace {

using idunno::net::StreamDecodeResult;
using idunno::net::StreamFrame;
using idunno::net::StreamFrameType;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_frame(const StreamFrame& frame) {
  switch (frame.type) {
    case StreamFrameType::data: check(frame.payload.size() <= idunno::net::max_stream_data_frame); break;
    case StreamFrameType::credit: check(frame.payload.size() == 8); break;
    case StreamFrameType::keepalive: check(frame.payload.empty()); break;
    default: check(frame.payload.size() <= idunno::net::max_stream_control_frame); break;
  }
  // The connection parses these; they must fail cleanly, never crash.
  idunno::net::StreamOpen open;
  idunno::net::StreamOpenReply reply;
  idunno::net::StreamCancel cancel;
  (void)open.ParseFromString(frame.payload);
  (void)reply.ParseFromString(frame.payload);
  (void)cancel.ParseFromString(frame.payload);
  const std::string wire = idunno::net::encode_stream_frame(frame.type, frame.stream_id, frame.payload);
  idunno::net::StreamFrameDecoder again;
  again.feed({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
  StreamDecodeResult r = again.next();
  check(r.kind == StreamDecodeResult::Kind::frame);
  check(r.frame.type == frame.type && r.frame.stream_id == frame.stream_id && r.frame.payload == frame.payload);
  check(again.next().kind == StreamDecodeResult::Kind::need_more);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in strings is expected input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0 picks the chunk size, byte 1 whether bytes are copied in or
  // received in place.
  const std::size_t chunk = 1 + data[0] % 97;
  const bool in_place = data[1] & 1;
  data += 2;
  size -= 2;
  idunno::net::StreamFrameDecoder decoder;
  std::size_t fed = 0;
  bool failed = false;
  while (fed < size) {
    const std::size_t n = std::min(chunk + fed % 5, size - fed);
    if (in_place) {
      auto room = decoder.prepare(n);
      check(room.size() >= n);
      std::memcpy(room.data(), data + fed, n);
      decoder.commit(n);
    } else {
      decoder.feed(std::span<const std::uint8_t>(data + fed, n));
    }
    fed += n;
    for (;;) {
      StreamDecodeResult r = decoder.next();
      if (r.kind == StreamDecodeResult::Kind::need_more) break;
      if (r.kind == StreamDecodeResult::Kind::error) {
        check(!r.error.empty());
        failed = true;
        break;
      }
      check(!failed);
      check_frame(r.frame);
    }
    check(decoder.buffered_bytes() <= fed);
    if (failed) {
      check(decoder.failed());
      check(decoder.next().kind == StreamDecodeResult::Kind::error);
      check(decoder.buffered_bytes() == 0);
    }
  }
  return 0;
}
