#pragma once
// Conversion between the Raft core's messages and their protobuf form.
//
// Why: the core trusts its inputs to be well formed (contiguous entries,
// decodable configurations); everything that arrives from the network is
// checked here first, and a malformed message is dropped whole rather than
// half-applied. Stateless; any thread.

#include <optional>
#include <string>

#include "core/raft/messages.hpp"
#include "net/raft/raft_wire.pb.h"

namespace idunno::net {

void to_wire(const raft::Configuration& config, raftwire::Configuration* out);
std::optional<raft::Configuration> from_wire(const raftwire::Configuration& config);

void to_wire(const raft::Payload& payload, raftwire::Envelope* out);
// nullopt when the message is malformed; `why` then says what was wrong.
std::optional<raft::Payload> from_wire(const raftwire::Envelope& envelope, std::string* why);

}  // namespace idunno::net
