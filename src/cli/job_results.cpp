// JobService's merge of a finished inference job's shard results into
// results/JOB (in query order, one shard in memory at a time), and the
// removal of the shard files once merged.

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "core/logging.hpp"
#include "core/wall_clock.hpp"
#include "ml/jobs/job_table_codec.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A finished job's shard results, read in query order (shards are cut in
// query order) as the merged file's bytes: one shard's lines in memory at a
// time.
struct MergeSource {
  fs::Sdfs* sdfs = nullptr;
  std::string job;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parts;  // shard, results version
  std::size_t next = 0;
  std::string piece;
  std::size_t at = 0;
  std::optional<std::uint64_t> lost;  // a shard none of whose copies could be read
};

bool copies_gone(const fs::SdfsError& error) {
  return error.kind() == fs::SdfsErrorKind::unavailable || error.kind() == fs::SdfsErrorKind::not_found;
}

asio::awaitable<std::size_t> merge_piece(std::shared_ptr<MergeSource> merge, std::span<std::uint8_t> buffer) {
  while (merge->at == merge->piece.size()) {
    if (merge->next == merge->parts.size()) co_return 0;
    const auto [id, version] = merge->parts[merge->next++];
    try {
      merge->piece =
          co_await sdfs_fetch(merge->sdfs, ml::jobs::shard_results_name(merge->job, id), version, 0, std::nullopt);
    } catch (const fs::SdfsError& error) {
      if (copies_gone(error)) merge->lost = id;
      throw;
    }
    merge->at = 0;
  }
  const std::size_t n = std::min(buffer.size(), merge->piece.size() - merge->at);
  std::copy_n(merge->piece.data() + merge->at, n, reinterpret_cast<char*>(buffer.data()));
  merge->at += n;
  co_return n;
}

}  // namespace

asio::awaitable<void> JobService::merge(std::string job_name) {
  std::string failure;
  std::optional<std::uint64_t> lost;
  std::string lost_error;
  try {
    const ml::jobs::JobEntry* job = table_.job(job_name);
    if (job == nullptr) co_return;
    auto source = std::make_shared<MergeSource>();
    source->sdfs = &sdfs_.sdfs();
    source->job = job_name;
    for (const auto& [id, shard] : job->shards) source->parts.emplace_back(id, shard.results_version);
    const std::string results = job->results;
    // The merged size first: a put must know it before choosing replicas.
    std::uint64_t size = 0;
    for (const auto& [id, version] : source->parts) {
      try {
        const fs::NamedVersion part = co_await source->sdfs->stat(ml::jobs::shard_results_name(job_name, id), version);
        size += part.entry.size;
      } catch (const fs::SdfsError& error) {
        if (!copies_gone(error)) throw;
        source->lost = id;
        lost_error = error.what();
        break;
      }
    }
    if (!source->lost) {
      try {
        fs::ByteSource bytes = [source](std::span<std::uint8_t> buffer) { return merge_piece(source, buffer); };
        const fs::PutResult put = co_await source->sdfs->put(std::move(bytes), size, results);
        co_await propose(ml::jobs::finish_command(job_name, put.version, core::wall_clock_ms()));
      } catch (const std::exception& error) {
        if (!source->lost) throw;
        lost_error = error.what();
      }
    }
    lost = source->lost;
  } catch (const boost::system::system_error& error) {
    if (core::is_cancellation(error)) throw;
    failure = error.what();
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (lost) {
    // Every copy of the shard's results is gone (more nodes died than
    // SDFS keeps copies for, before re-replication could run): the shard
    // runs again and writes the same bytes.
    spdlog::warn("event=shard_redo job={} shard={} error={}", core::log_quote(job_name), *lost,
                 core::log_quote(lost_error));
    co_await propose(ml::jobs::redo_shard_command(job_name, *lost, core::wall_clock_ms()));
    merging_.erase(job_name);
    kick();
    co_return;
  }
  merging_.erase(job_name);
  if (!failure.empty()) {
    spdlog::warn("event=merge_failed job={} error={}", core::log_quote(job_name), core::log_quote(failure));
    kick();  // tried again on the next round
    co_return;
  }
  co_await remove_shard_results(job_name);
}

asio::awaitable<void> JobService::remove_shard_results(std::string job) {
  std::vector<fs::NamedVersion> parts;
  try {
    parts = co_await sdfs_.sdfs().list(ml::jobs::shard_results_prefix(job));
    for (const auto& part : parts) co_await sdfs_.sdfs().remove(part.name);
  } catch (const boost::system::system_error& error) {
    if (core::is_cancellation(error)) throw;
  } catch (const std::exception& error) {
    // Left behind; `remove JOB` tries again.
    spdlog::info("event=shard_results_left job={} error={}", core::log_quote(job), core::log_quote(error.what()));
  }
}

}  // namespace idunno::cli
