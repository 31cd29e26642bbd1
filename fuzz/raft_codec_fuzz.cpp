// libFuzzer target for the Raft core's binary decoders: what the file
// storage reads back from disk (entries, configurations, snapshot metadata)
// and what the key-value state machine reads (commands, results,
// snapshots). Malformed input must throw DecodeError or be answered with an
// error result; nothing may crash, read out of bounds or hang. Whatever
// decodes must encode back to bytes that decode the same.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/raft/codec.hpp"
#include "core/raft/kv_state_machine.hpp"

using namespace idunno::raft;

namespace {

template <typename Read, typename Write>
void round_trip(std::string_view bytes, Read read, Write write) {
  try {
    Reader r(bytes);
    const auto value = read(r);
    std::string again;
    Writer w(again);
    write(w, value);
    Reader r2(again);
    if (!(read(r2) == value) || !r2.done()) __builtin_trap();
  } catch (const DecodeError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  round_trip(bytes, read_entry, write_entry);
  round_trip(bytes, read_configuration, write_configuration);
  round_trip(bytes, read_snapshot_meta, write_snapshot_meta);
  try {
    (void)decode_kv_result(bytes);
  } catch (const DecodeError&) {
  }

  // The state machine must not throw on any command (it answers
  // bad_command), and a snapshot it restored must snapshot back the same.
  KvStateMachine kv;
  (void)kv.apply(1, bytes);
  try {
    KvStateMachine restored;
    restored.restore(bytes);
    KvStateMachine again;
    again.restore(restored.snapshot());
    if (again.contents() != restored.contents()) __builtin_trap();
  } catch (const DecodeError&) {
  }
  return 0;
}
