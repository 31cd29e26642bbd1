#pragma once
// The simulation's state machine: a router hosting the key-value store (bare
// key-value commands reach it as legacy entries; routed ones carry sessions),
// plus a running digest of every command applied.
//
// Why: "every voter's applied sequence is a prefix of the same history" is
// checked by comparing, at each applied index, a hash chain over all
// commands up to it; the digest travels in snapshots so that a node restored
// from one is checked too. Each apply reports (index, digest) to a callback.
// A test may host more machines beside "kv" (MachineFactory: fresh ones for
// every node start, as a restarted process builds its own). Test-only; lives
// on the simulation's thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/raft/codec.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "core/raft/router.hpp"

namespace idunno::raft::sim {

// Machines by the name the router hosts them under.
using MachineFactory = std::function<std::map<std::string, std::unique_ptr<StateMachine>>()>;

class SimStateMachine final : public StateMachine {
 public:
  using Observer = std::function<void(Index index, std::uint64_t digest)>;
  explicit SimStateMachine(Observer observer, RouterOptions options = {}, const MachineFactory& machines = {})
      : router_(std::move(options)), observer_(std::move(observer)) {
    router_.add("kv", kv_);
    if (machines) extra_ = machines();
    for (const auto& [name, machine] : extra_) router_.add(name, *machine);
  }

  std::string apply(Index index, std::string_view command) override {
    if (index <= last_index_) throw std::logic_error("applied index went backwards");
    digest_ = mix(digest_, index, command);
    last_index_ = index;
    observer_(index, digest_);
    return router_.apply(index, command);
  }

  std::string snapshot() const override {
    std::string out;
    Writer w(out);
    w.u64(last_index_);
    w.u64(digest_);
    w.bytes(router_.snapshot());
    return out;
  }

  void restore(std::string_view snapshot) override {
    Reader r(snapshot);
    last_index_ = r.u64();
    digest_ = r.u64();
    router_.restore(r.bytes());
    observer_(last_index_, digest_);
  }

  const KvStateMachine& kv() const { return kv_; }
  const Router& router() const { return router_; }
  // A machine from the factory (or "kv"); nullptr if none has that name.
  const StateMachine* hosted(std::string_view name) const { return router_.machine(name); }
  Index last_index() const { return last_index_; }

 private:
  static std::uint64_t mix(std::uint64_t digest, Index index, std::string_view data) {
    // FNV-1a over the previous digest, the index and the command.
    std::uint64_t h = 1469598103934665603ull ^ digest;
    auto add = [&](unsigned char byte) { h = (h ^ byte) * 1099511628211ull; };
    for (int i = 0; i < 8; ++i) add(static_cast<unsigned char>(index >> (8 * i)));
    for (char c : data) add(static_cast<unsigned char>(c));
    return h;
  }

  KvStateMachine kv_;
  std::map<std::string, std::unique_ptr<StateMachine>> extra_;
  Router router_;
  Index last_index_ = 0;
  std::uint64_t digest_ = 0;
  Observer observer_;
};

}  // namespace idunno::raft::sim
