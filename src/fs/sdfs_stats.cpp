#include "fs/sdfs_stats.hpp"

#include <spdlog/spdlog.h>

#include "core/logging.hpp"

namespace idunno::fs {

void SdfsStats::record(const SdfsOp& op) {
  spdlog::info("event=sdfs_op op={} name={} version={} bytes={} peer={} result={}", op.op, core::log_quote(op.name),
               op.version, op.bytes, op.peer.empty() ? "-" : op.peer, core::log_quote(op.result));
  // Results other than ok are counted as "error": reasons vary too much
  // for a label.
  ++ops_[{op.op, op.result == "ok" ? "ok" : "error"}];
}

std::uint64_t SdfsStats::count(const std::string& op, const std::string& result) const {
  auto it = ops_.find({op, result});
  return it == ops_.end() ? 0 : it->second;
}

void SdfsStats::write(core::MetricsWriter& writer) const {
  writer.counter("sdfs_bytes_in_total", "SDFS file bytes this node received", static_cast<double>(bytes_in_));
  writer.counter("sdfs_bytes_out_total", "SDFS file bytes this node sent", static_cast<double>(bytes_out_));
  for (const auto& [key, value] : ops_) {
    writer.counter("sdfs_operations_total", "SDFS file operations processed on this node by kind and result",
                   static_cast<double>(value), {{"op", key.first}, {"result", key.second}});
  }
}

}  // namespace idunno::fs
