#include "core/raft/kv_state_machine.hpp"

#include <utility>

#include "core/raft/codec.hpp"

namespace idunno::raft {

namespace {
enum class KvOp : std::uint8_t { put = 1, get = 2, remove = 3 };

std::string encode_command(KvOp op, std::string_view key, std::string_view value) {
  std::string out;
  Writer w(out);
  w.u8(static_cast<std::uint8_t>(op));
  w.bytes(key);
  w.bytes(value);
  return out;
}

std::string encode_result(KvStatus status, std::string_view value) {
  std::string out;
  Writer w(out);
  w.u8(static_cast<std::uint8_t>(status));
  w.bytes(value);
  return out;
}
}  // namespace

std::string kv_put(std::string_view key, std::string_view value) { return encode_command(KvOp::put, key, value); }
std::string kv_get(std::string_view key) { return encode_command(KvOp::get, key, {}); }
std::string kv_remove(std::string_view key) { return encode_command(KvOp::remove, key, {}); }

KvResult decode_kv_result(std::string_view bytes) {
  Reader r(bytes);
  KvResult result;
  const auto status = r.u8();
  if (status > static_cast<std::uint8_t>(KvStatus::bad_command)) throw DecodeError("unknown kv status");
  result.status = static_cast<KvStatus>(status);
  result.value = r.bytes();
  if (!r.done()) throw DecodeError("trailing bytes after kv result");
  return result;
}

std::string KvStateMachine::apply(Index index, std::string_view command) {
  last_applied_ = index;
  KvOp op;
  std::string key;
  std::string value;
  try {
    Reader r(command);
    op = static_cast<KvOp>(r.u8());
    key = r.bytes();
    value = r.bytes();
    if (!r.done()) return encode_result(KvStatus::bad_command, "trailing bytes");
  } catch (const DecodeError& e) {
    return encode_result(KvStatus::bad_command, e.what());
  }
  auto it = data_.find(key);
  switch (op) {
    case KvOp::put: {
      if (it == data_.end()) {
        data_.emplace(std::move(key), std::move(value));
        return encode_result(KvStatus::not_found, {});
      }
      auto previous = std::exchange(it->second, std::move(value));
      return encode_result(KvStatus::ok, previous);
    }
    case KvOp::get:
      if (it == data_.end()) return encode_result(KvStatus::not_found, {});
      return encode_result(KvStatus::ok, it->second);
    case KvOp::remove: {
      if (it == data_.end()) return encode_result(KvStatus::not_found, {});
      auto previous = std::move(it->second);
      data_.erase(it);
      return encode_result(KvStatus::ok, previous);
    }
  }
  return encode_result(KvStatus::bad_command, "unknown operation");
}

std::string KvStateMachine::snapshot() const {
  std::string out;
  Writer w(out);
  w.u64(last_applied_);
  w.u64(data_.size());
  for (const auto& [key, value] : data_) {
    w.bytes(key);
    w.bytes(value);
  }
  return out;
}

void KvStateMachine::restore(std::string_view snapshot) {
  if (snapshot.empty()) {
    data_.clear();
    last_applied_ = 0;
    return;
  }
  Reader r(snapshot);
  std::map<std::string, std::string> data;
  const auto last_applied = r.u64();
  const auto count = r.u64();
  if (count > r.remaining() / 8) throw DecodeError("kv snapshot count exceeds input");
  for (std::uint64_t i = 0; i < count; ++i) {
    auto key = r.bytes();
    auto value = r.bytes();
    data.emplace(std::move(key), std::move(value));
  }
  if (!r.done()) throw DecodeError("trailing bytes after kv snapshot");
  data_ = std::move(data);
  last_applied_ = last_applied;
}

std::string KvStateMachine::query(std::string_view query) const {
  try {
    Reader r(query);
    const auto op = static_cast<KvOp>(r.u8());
    const auto key = r.bytes();
    r.bytes();
    if (!r.done() || op != KvOp::get) return encode_result(KvStatus::bad_command, "a query must be a get");
    auto it = data_.find(key);
    if (it == data_.end()) return encode_result(KvStatus::not_found, {});
    return encode_result(KvStatus::ok, it->second);
  } catch (const DecodeError& e) {
    return encode_result(KvStatus::bad_command, e.what());
  }
}

std::optional<std::string> KvStateMachine::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

}  // namespace idunno::raft
