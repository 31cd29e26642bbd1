#include "core/raft/router.hpp"

#include <algorithm>

#include "core/raft/codec.hpp"

namespace idunno::raft {

namespace {
// "IDRT" then a version: a snapshot from before routing (a bare key-value
// snapshot) never starts with it.
constexpr std::uint32_t kSnapshotMagic = 0x54524449;
constexpr std::uint8_t kSnapshotVersion = 1;
}  // namespace

Router::Router(RouterOptions options) : options_(std::move(options)) {}

void Router::add(std::string name, StateMachine& machine) {
  if (name.empty()) throw std::invalid_argument("a state machine needs a name");
  if (!machines_.emplace(std::move(name), &machine).second) {
    throw std::invalid_argument("two state machines of the same name");
  }
}

StateMachine* Router::machine(std::string_view name) const {
  auto it = machines_.find(name);
  return it == machines_.end() ? nullptr : it->second;
}

std::string Router::apply(Index index, std::string_view bytes) {
  if (!is_routed(bytes)) {
    auto* legacy = machine(options_.legacy_machine);
    if (!legacy) return encode_route_result({RouteStatus::unknown_machine, options_.legacy_machine});
    return legacy->apply(index, bytes);
  }
  RoutedEntry entry;
  try {
    entry = decode_routed(bytes);
  } catch (const DecodeError& e) {
    return encode_route_result({RouteStatus::bad_entry, e.what()});
  }
  cluster_time_ms_ = std::max(cluster_time_ms_, entry.time_ms);
  expire_sessions();
  return encode_route_result(apply_routed(index, entry));
}

RouteResult Router::apply_routed(Index index, const RoutedEntry& entry) {
  if (entry.kind == RoutedKind::register_session) {
    sessions_[index] = Session{cluster_time_ms_, 0, {}};
    return {RouteStatus::registered, std::to_string(index)};
  }
  auto* target = machine(entry.machine);
  if (entry.client == 0) {
    if (!target) return {RouteStatus::unknown_machine, entry.machine};
    return {RouteStatus::ok, target->apply(index, entry.payload)};
  }
  auto it = sessions_.find(entry.client);
  if (it == sessions_.end()) return {RouteStatus::session_expired, {}};
  auto& session = it->second;
  session.last_active_ms = cluster_time_ms_;
  if (entry.acked > session.acked) {
    session.acked = entry.acked;
    session.results.erase(session.results.begin(), session.results.upper_bound(entry.acked));
  }
  if (options_.deduplicate) {
    if (entry.seq <= session.acked) return {RouteStatus::already_answered, {}};
    if (auto cached = session.results.find(entry.seq); cached != session.results.end()) {
      return {RouteStatus::duplicate, cached->second};
    }
  }
  if (!target) return {RouteStatus::unknown_machine, entry.machine};
  auto result = target->apply(index, entry.payload);
  if (options_.deduplicate) session.results.emplace(entry.seq, result);
  return {RouteStatus::ok, std::move(result)};
}

void Router::expire_sessions() {
  const auto timeout = static_cast<std::uint64_t>(options_.session_timeout.count());
  if (cluster_time_ms_ < timeout) return;
  const auto cutoff = cluster_time_ms_ - timeout;
  std::erase_if(sessions_, [cutoff](const auto& item) { return item.second.last_active_ms < cutoff; });
}

std::string Router::snapshot() const {
  std::string out;
  Writer w(out);
  w.u32(kSnapshotMagic);
  w.u8(kSnapshotVersion);
  w.u64(cluster_time_ms_);
  w.u64(sessions_.size());
  for (const auto& [client, session] : sessions_) {
    w.u64(client);
    w.u64(session.last_active_ms);
    w.u64(session.acked);
    w.u64(session.results.size());
    for (const auto& [seq, result] : session.results) {
      w.u64(seq);
      w.bytes(result);
    }
  }
  w.u64(machines_.size());
  for (const auto& [name, machine] : machines_) {
    w.bytes(name);
    w.bytes(machine->snapshot());
  }
  return out;
}

void Router::restore(std::string_view bytes) {
  if (bytes.size() < 5 || Reader(bytes).u32() != kSnapshotMagic) {
    // A bare snapshot of the legacy machine (or none at all).
    for (const auto& [name, machine] : machines_) {
      machine->restore(name == options_.legacy_machine ? bytes : std::string_view{});
    }
    sessions_.clear();
    cluster_time_ms_ = 0;
    return;
  }
  Reader r(bytes);
  r.u32();
  if (const auto version = r.u8(); version != kSnapshotVersion) {
    throw DecodeError("router snapshot version " + std::to_string(version) + " is not known here");
  }
  const auto time = r.u64();
  std::map<std::uint64_t, Session> sessions;
  const auto session_count = r.u64();
  if (session_count > r.remaining() / 32) throw DecodeError("router snapshot session count exceeds input");
  for (std::uint64_t i = 0; i < session_count; ++i) {
    const auto client = r.u64();
    Session session;
    session.last_active_ms = r.u64();
    session.acked = r.u64();
    const auto results = r.u64();
    if (results > r.remaining() / 12) throw DecodeError("router snapshot result count exceeds input");
    for (std::uint64_t j = 0; j < results; ++j) {
      const auto seq = r.u64();
      session.results.emplace(seq, r.bytes());
    }
    sessions.emplace(client, std::move(session));
  }
  std::map<std::string, std::string, std::less<>> parts;
  const auto machine_count = r.u64();
  if (machine_count > r.remaining() / 8) throw DecodeError("router snapshot machine count exceeds input");
  for (std::uint64_t i = 0; i < machine_count; ++i) {
    auto name = r.bytes();
    if (!machines_.contains(name)) throw DecodeError("the snapshot holds state machine '" + name + "', not hosted here");
    parts.emplace(std::move(name), r.bytes());
  }
  if (!r.done()) throw DecodeError("trailing bytes after router snapshot");
  for (const auto& [name, machine] : machines_) {
    auto it = parts.find(name);
    machine->restore(it == parts.end() ? std::string_view{} : std::string_view(it->second));
  }
  sessions_ = std::move(sessions);
  cluster_time_ms_ = time;
}

std::string Router::query_machine(std::string_view name, std::string_view query) const {
  auto* target = machine(name);
  if (!target) throw UnknownMachine("no state machine named '" + std::string(name) + "'");
  return target->query(query);
}

}  // namespace idunno::raft
