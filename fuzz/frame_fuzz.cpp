// libFuzzer target for the RPC frame decoder: arbitrary bytes, fed in
// arbitrary chunks, must never crash, over-read or loop; and every frame it
// yields must survive a re-encode/decode round trip unchanged.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "net/frame.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(const idunno::net::RpcFrame& frame, std::uint32_t limit) {
  const std::string wire = idunno::net::encode_frame(frame, limit);
  idunno::net::FrameDecoder again(limit);
  again.feed({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
  idunno::net::DecodeResult r = again.next();
  check(r.kind == idunno::net::DecodeResult::Kind::frame);
  check(r.frame.SerializeAsString() == frame.SerializeAsString());
  check(again.next().kind == idunno::net::DecodeResult::Kind::need_more);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in strings is expected input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using idunno::net::DecodeResult;
  if (size < 2) return 0;
  // Byte 0 picks the frame size limit, byte 1 the chunk size pattern.
  const std::uint32_t limit = 1u + (static_cast<std::uint32_t>(data[0]) * 37u);
  const std::size_t chunk = 1 + data[1] % 64;
  data += 2;
  size -= 2;

  idunno::net::FrameDecoder decoder(limit);
  std::size_t fed = 0;
  bool failed = false;
  while (fed < size) {
    const std::size_t n = std::min(chunk + fed % 7, size - fed);
    decoder.feed(std::span<const std::uint8_t>(data + fed, n));
    fed += n;
    for (;;) {
      DecodeResult r = decoder.next();
      if (r.kind == DecodeResult::Kind::need_more) break;
      if (r.kind == DecodeResult::Kind::error) {
        check(!r.error.empty());
        failed = true;
        break;
      }
      check(!failed);
      check(r.frame.ByteSizeLong() <= limit);
      check_round_trip(r.frame, limit);
    }
    check(decoder.buffered_bytes() <= fed);
    if (failed) {
      // An error is final.
      check(decoder.failed());
      check(decoder.next().kind == DecodeResult::Kind::error);
      check(decoder.buffered_bytes() == 0);
    }
  }
  return 0;
}
