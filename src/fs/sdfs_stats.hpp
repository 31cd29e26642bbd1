#pragma once
// The counters and event lines of SDFS file operations on one node, shared
// by its data service (fs/data_node.hpp) and its client library
// (fs/sdfs.hpp), rendered as idunno_sdfs_* metrics.
//
// Why: every file operation a node processes is one grep-able event line
// (op, name, version, bytes, peer, result) and a count by kind and result;
// keeping both in one place keeps their words the same. Event loop only
// (plain fields, no locks).

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "core/metrics.hpp"

namespace idunno::fs {

struct SdfsOp {
  std::string op;  // store, fetch, replicate, drop, put, get, delete
  std::string name;
  std::uint64_t version = 0;
  std::uint64_t bytes = 0;
  std::string peer;
  std::string result = "ok";  // ok or a short reason
};

class SdfsStats {
 public:
  // Logs `event=sdfs_op ...` and counts it.
  void record(const SdfsOp& op);
  void add_bytes_in(std::uint64_t bytes) { bytes_in_ += bytes; }
  void add_bytes_out(std::uint64_t bytes) { bytes_out_ += bytes; }
  void write(core::MetricsWriter& writer) const;

  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t count(const std::string& op, const std::string& result) const;

 private:
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> ops_;
};

}  // namespace idunno::fs
