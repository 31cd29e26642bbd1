#include "ml/jobs/shard_planner.hpp"

#include <algorithm>
#include <stdexcept>

namespace idunno::ml::jobs {

std::vector<BatchRange> Shard::batches() const {
  std::vector<BatchRange> out;
  for (std::size_t at = begin; at < end; at += batch_size) out.push_back({at, std::min(at + batch_size, end)});
  return out;
}

std::vector<Shard> plan_shards(std::size_t begin, std::size_t end, std::size_t batch_size,
                               std::size_t batches_per_shard, std::uint64_t first_id) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be at least 1");
  if (batches_per_shard == 0) throw std::invalid_argument("a shard holds at least one batch");
  if (begin > end) throw std::invalid_argument("query range ends before it begins");
  const std::size_t shard_queries = batch_size * batches_per_shard;
  if (shard_queries / batches_per_shard != batch_size) throw std::invalid_argument("shard size overflows");
  std::vector<Shard> shards;
  std::uint64_t id = first_id;
  for (std::size_t at = begin; at < end;) {
    const std::size_t last = end - at > shard_queries ? at + shard_queries : end;
    shards.push_back(Shard{id++, at, last, batch_size});
    at = last;
  }
  return shards;
}

std::size_t batches_per_shard_for(core::Duration batch_time, core::Duration target, std::size_t max_batches) {
  max_batches = std::max<std::size_t>(max_batches, 1);
  if (batch_time.count() <= 0 || target.count() <= 0) return 1;
  const auto fit = static_cast<std::size_t>(target.count() / batch_time.count());
  return std::clamp<std::size_t>(fit, 1, max_batches);
}

}  // namespace idunno::ml::jobs
