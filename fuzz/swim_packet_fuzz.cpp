// libFuzzer target for everything SWIM decodes from the network: the body
// codec, the (authenticated) envelope, and a whole core fed the bytes as a
// datagram, as a stream request and as a stream reply. Nothing may crash,
// hang or grow without bound.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "net/swim/bytes.hpp"
#include "net/swim/codec.hpp"
#include "net/swim/envelope.hpp"
#include "net/swim/swim_core.hpp"

using namespace idunno;

namespace {

swim::MemberId self_id() { return swim::MemberId{"node1", {"127.0.0.1", 7001}, 1'700'000'000'000}; }

struct Cores {
  swim::SwimCore plain{swim::SwimConfig{}, self_id(), 1, core::TimePoint(std::chrono::hours(1))};
  swim::SwimCore authenticated{[] {
                                 swim::SwimConfig c;
                                 c.secret = "fuzz";
                                 return c;
                               }(),
                               self_id(), 2, core::TimePoint(std::chrono::hours(1))};
  core::TimePoint now = core::TimePoint(std::chrono::hours(1));
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto cores_ptr = std::make_unique<Cores>();
  Cores& cores = *cores_ptr;
  const std::span<const std::uint8_t> bytes(data, size);

  if (auto messages = swim::decode_body(bytes)) {
    // What decodes must encode back to something that decodes the same.
    std::string again;
    for (const auto& m : *messages) swim::encode(again, m);
    auto twice = swim::decode_body(swim::as_bytes(again));
    if (!twice || *twice != *messages) __builtin_trap();
  }

  cores.now += std::chrono::milliseconds(7);
  const core::HostPort from{"127.0.0.1", 7002};
  for (swim::SwimCore* c : {&cores.plain, &cores.authenticated}) {
    c->on_packet(cores.now, from, bytes);
    (void)c->on_stream_request(cores.now, bytes);
    c->on_stream_reply(cores.now, 1, bytes);
    c->tick(cores.now);
    (void)c->take_output();
  }
  // The fuzzer may grow the member table with valid updates; keep it
  // bounded so runs stay fast.
  if (cores.plain.members().size() > 5000) cores_ptr = std::make_unique<Cores>();
  return 0;
}
