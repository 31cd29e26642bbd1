#include "net/raft/wire_codec.hpp"

#include <type_traits>

#include "core/raft/codec.hpp"

namespace idunno::net {

namespace {

void members_to_wire(const std::map<raft::NodeName, std::string>& members,
                     google::protobuf::RepeatedPtrField<raftwire::Member>* out) {
  for (const auto& [name, address] : members) {
    auto* m = out->Add();
    m->set_name(name);
    m->set_address(address);
  }
}

bool members_from_wire(const google::protobuf::RepeatedPtrField<raftwire::Member>& in,
                       std::map<raft::NodeName, std::string>& out) {
  for (const auto& m : in) {
    if (m.name().empty() || !out.emplace(m.name(), m.address()).second) return false;
  }
  return true;
}

void entry_to_wire(const raft::LogEntry& entry, raftwire::Entry* out) {
  out->set_term(entry.term);
  out->set_index(entry.index);
  out->set_type(static_cast<std::uint32_t>(entry.type));
  out->set_data(entry.data);
}

std::optional<raft::LogEntry> entry_from_wire(const raftwire::Entry& in) {
  if (in.type() > static_cast<std::uint32_t>(raft::EntryType::config)) return std::nullopt;
  raft::LogEntry entry{in.term(), in.index(), static_cast<raft::EntryType>(in.type()), in.data()};
  if (entry.type == raft::EntryType::config) {
    try {
      raft::decode_configuration(entry.data);
    } catch (const raft::DecodeError&) {
      return std::nullopt;
    }
  }
  return entry;
}

std::optional<raft::SnapshotMeta> meta_from_wire(const raftwire::SnapshotMeta& in) {
  auto config = from_wire(in.config());
  if (!config) return std::nullopt;
  return raft::SnapshotMeta{in.last_index(), in.last_term(), std::move(*config)};
}

}  // namespace

void to_wire(const raft::Configuration& config, raftwire::Configuration* out) {
  members_to_wire(config.voters, out->mutable_voters());
  members_to_wire(config.learners, out->mutable_learners());
}

std::optional<raft::Configuration> from_wire(const raftwire::Configuration& in) {
  raft::Configuration config;
  if (!members_from_wire(in.voters(), config.voters) || !members_from_wire(in.learners(), config.learners)) {
    return std::nullopt;
  }
  for (const auto& [name, address] : config.voters) {
    if (config.learners.contains(name)) return std::nullopt;
  }
  return config;
}

void to_wire(const raft::Payload& payload, raftwire::Envelope* out) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, raft::VoteRequest>) {
          auto* w = out->mutable_vote_request();
          w->set_term(m.term);
          w->set_last_log_index(m.last_log_index);
          w->set_last_log_term(m.last_log_term);
          w->set_pre_vote(m.pre_vote);
          w->set_transfer(m.transfer);
        } else if constexpr (std::is_same_v<T, raft::VoteReply>) {
          auto* w = out->mutable_vote_reply();
          w->set_term(m.term);
          w->set_granted(m.granted);
          w->set_pre_vote(m.pre_vote);
        } else if constexpr (std::is_same_v<T, raft::AppendRequest>) {
          auto* w = out->mutable_append_request();
          w->set_term(m.term);
          w->set_prev_index(m.prev_index);
          w->set_prev_term(m.prev_term);
          w->set_commit(m.commit);
          w->set_read_round(m.read_round);
          for (const auto& e : m.entries) entry_to_wire(e, w->add_entries());
        } else if constexpr (std::is_same_v<T, raft::AppendReply>) {
          auto* w = out->mutable_append_reply();
          w->set_term(m.term);
          w->set_success(m.success);
          w->set_prev_index(m.prev_index);
          w->set_match_index(m.match_index);
          w->set_hint(m.hint);
          w->set_read_round(m.read_round);
        } else if constexpr (std::is_same_v<T, raft::SnapshotRequest>) {
          auto* w = out->mutable_snapshot_request();
          w->set_term(m.term);
          w->mutable_meta()->set_last_index(m.meta.last_index);
          w->mutable_meta()->set_last_term(m.meta.last_term);
          to_wire(m.meta.config, w->mutable_meta()->mutable_config());
          w->set_offset(m.offset);
          w->set_data(m.data);
          w->set_done(m.done);
        } else if constexpr (std::is_same_v<T, raft::SnapshotReply>) {
          auto* w = out->mutable_snapshot_reply();
          w->set_term(m.term);
          w->set_last_index(m.last_index);
          w->set_next_offset(m.next_offset);
          w->set_done(m.done);
        } else {
          out->mutable_timeout_now()->set_term(m.term);
        }
      },
      payload);
}

std::optional<raft::Payload> from_wire(const raftwire::Envelope& in, std::string* why) {
  auto bad = [&](const char* reason) -> std::optional<raft::Payload> {
    if (why) *why = reason;
    return std::nullopt;
  };
  switch (in.payload_case()) {
    case raftwire::Envelope::kVoteRequest: {
      const auto& m = in.vote_request();
      return raft::VoteRequest{m.term(), m.last_log_index(), m.last_log_term(), m.pre_vote(), m.transfer()};
    }
    case raftwire::Envelope::kVoteReply: {
      const auto& m = in.vote_reply();
      return raft::VoteReply{m.term(), m.granted(), m.pre_vote()};
    }
    case raftwire::Envelope::kAppendRequest: {
      const auto& m = in.append_request();
      raft::AppendRequest request{m.term(), m.prev_index(), m.prev_term(), {}, m.commit(), m.read_round()};
      request.entries.reserve(static_cast<std::size_t>(m.entries_size()));
      for (const auto& e : m.entries()) {
        auto entry = entry_from_wire(e);
        if (!entry) return bad("malformed entry");
        if (entry->index != request.prev_index + 1 + request.entries.size()) return bad("entries not contiguous");
        if (entry->term > request.term) return bad("entry from a later term than its leader's");
        request.entries.push_back(std::move(*entry));
      }
      return request;
    }
    case raftwire::Envelope::kAppendReply: {
      const auto& m = in.append_reply();
      return raft::AppendReply{m.term(), m.success(), m.prev_index(), m.match_index(), m.hint(), m.read_round()};
    }
    case raftwire::Envelope::kSnapshotRequest: {
      const auto& m = in.snapshot_request();
      auto meta = meta_from_wire(m.meta());
      if (!meta) return bad("malformed snapshot configuration");
      if (meta->last_term > m.term()) return bad("snapshot from a later term than its leader's");
      return raft::SnapshotRequest{m.term(), std::move(*meta), m.offset(), m.data(), m.done()};
    }
    case raftwire::Envelope::kSnapshotReply: {
      const auto& m = in.snapshot_reply();
      return raft::SnapshotReply{m.term(), m.last_index(), m.next_offset(), m.done()};
    }
    case raftwire::Envelope::kTimeoutNow:
      return raft::TimeoutNow{in.timeout_now().term()};
    case raftwire::Envelope::PAYLOAD_NOT_SET:
      break;
  }
  return bad("empty message");
}

}  // namespace idunno::net
