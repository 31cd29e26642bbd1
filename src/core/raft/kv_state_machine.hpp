#pragma once
// A small key-value state machine: the tests' workload and the `kv-put` /
// `kv-get` commands' store.
//
// Why: tests need a state machine whose final contents prove that no
// acknowledged write was lost. Commands and results have a binary encoding
// made by the helpers below; a `get` through the log is a linearizable read,
// and so is the same `get` given to query() behind a ReadIndex.
// Called only from the thread that runs the core.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/raft/state_machine.hpp"

namespace idunno::raft {

enum class KvStatus : std::uint8_t { ok = 0, not_found = 1, bad_command = 2 };

struct KvResult {
  KvStatus status = KvStatus::ok;
  std::string value;  // get: the value; put/remove: the previous value
};

// Command encoders and the result decoder (throws DecodeError).
std::string kv_put(std::string_view key, std::string_view value);
std::string kv_get(std::string_view key);
std::string kv_remove(std::string_view key);
KvResult decode_kv_result(std::string_view bytes);

class KvStateMachine final : public StateMachine {
 public:
  std::string apply(Index index, std::string_view command) override;
  std::string snapshot() const override;
  void restore(std::string_view snapshot) override;
  // Answers a kv_get() without changing anything.
  std::string query(std::string_view query) const override;

  // A local read, possibly stale on a follower.
  std::optional<std::string> get(const std::string& key) const;
  const std::map<std::string, std::string>& contents() const { return data_; }
  Index last_applied() const { return last_applied_; }

 private:
  std::map<std::string, std::string> data_;
  Index last_applied_ = 0;
};

}  // namespace idunno::raft
