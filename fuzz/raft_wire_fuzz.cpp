// libFuzzer target for Raft messages as they arrive from the network: a
// protobuf Envelope parsed from the bytes, then checked and converted by
// from_wire. A malformed message must be refused with a reason, never
// crash; an accepted one must survive to_wire/from_wire again.

#include <cstddef>
#include <cstdint>
#include <string>

#include "net/raft/wire_codec.hpp"

using namespace idunno;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftwire::Envelope envelope;
  if (!envelope.ParseFromArray(data, static_cast<int>(size))) return 0;
  std::string why;
  const auto payload = net::from_wire(envelope, &why);
  if (!payload) {
    if (why.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  raftwire::Envelope again;
  net::to_wire(*payload, &again);
  std::string bytes;
  if (!again.SerializeToString(&bytes)) __builtin_trap();
  raftwire::Envelope parsed;
  if (!parsed.ParseFromString(bytes)) __builtin_trap();
  std::string why_again;
  if (!net::from_wire(parsed, &why_again)) __builtin_trap();
  return 0;
}
