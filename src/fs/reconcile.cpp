#include "fs/reconcile.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <map>
#include <utility>

#include "core/logging.hpp"
#include "core/task_group.hpp"

namespace idunno::fs {

namespace {

using Key = std::pair<std::string, std::uint64_t>;

// What the verify step on the pool found for one block.
enum class Check { intact, damaged };

}  // namespace

ReconcilePlan plan_reconcile(const BlockListing& held, const std::vector<NamedVersion>& listed) {
  ReconcilePlan plan;
  plan.bad_files = held.bad;
  std::map<Key, const VersionEntry*> wanted;
  for (const auto& version : listed) wanted[{version.name, version.entry.version}] = &version.entry;

  std::map<Key, const BlockInfo*> have;
  for (const auto& block : held.blocks) {
    const Key id{block.name, block.version};
    have[id] = &block;
    const auto it = wanted.find(id);
    if (it == wanted.end()) {
      plan.drop.push_back(block);  // deleted, pruned or replaced while away
      continue;
    }
    const auto& entry = *it->second;
    if (block.size == entry.size && block.checksum == entry.checksum) {
      plan.verify.push_back({block.name, entry});
    } else {
      plan.drop.push_back(block);  // not the bytes the namespace knows
      if (entry.committed()) plan.lost.push_back({block.name, entry});
    }
  }
  for (const auto& version : listed) {
    if (version.entry.committed() && !have.contains({version.name, version.entry.version}))
      plan.lost.push_back(version);
  }
  std::sort(plan.lost.begin(), plan.lost.end(), [](const NamedVersion& a, const NamedVersion& b) {
    return std::tie(a.name, a.entry.version) < std::tie(b.name, b.entry.version);
  });
  return plan;
}

std::vector<BlockInfo> garbage_blocks(const std::vector<BlockInfo>& held, const Namespace& ns) {
  std::vector<BlockInfo> out;
  for (const auto& block : held) {
    if (block.version < ns.next_version(block.name) && !ns.version(block.name, block.version)) out.push_back(block);
  }
  return out;
}

boost::asio::awaitable<std::size_t> sweep_garbage(BlockStore* store, core::ThreadPool* io, const Namespace* ns) {
  auto listing = io->run([store] { return store->list(); });
  const BlockListing held = co_await std::move(listing);
  const auto garbage = garbage_blocks(held.blocks, *ns);
  if (garbage.empty()) co_return 0;
  auto removing = io->run([store, garbage] {
    for (const auto& block : garbage) store->remove(block.name, block.version);
  });
  co_await std::move(removing);
  for (const auto& block : garbage) {
    spdlog::info("event=sdfs_garbage_dropped name={} version={} bytes={}", core::log_quote(block.name), block.version,
                 block.size);
  }
  co_return garbage.size();
}

namespace {

boost::asio::awaitable<std::vector<NamedVersion>> read_listing(ReconcilePorts* ports, std::string self) {
  auto delay = std::chrono::milliseconds(100);
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (int attempt = 1;; ++attempt) {
    std::string error;
    try {
      co_return co_await ports->listed();
    } catch (const boost::system::system_error& failure) {
      if (core::is_cancellation(failure)) throw;
      error = failure.what();
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    if (attempt == 1 || attempt % 10 == 0) {
      spdlog::info("event=sdfs_reconcile_waiting node={} attempt={} error={}", self, attempt, core::log_quote(error));
    }
    timer.expires_after(delay);
    co_await timer.async_wait(boost::asio::use_awaitable);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace

boost::asio::awaitable<ReconcileReport> reconcile_blocks(BlockStore* store_ptr, core::ThreadPool* io_ptr,
                                                         std::string self, ReconcilePorts ports) {
  BlockStore& store = *store_ptr;
  core::ThreadPool& io = *io_ptr;
  const auto started = std::chrono::steady_clock::now();
  // The store first, then the namespace: every block found here was
  // stored after its Begin, which the linearizable read then sees. (A block
  // stored after the listing is not looked at at all.)
  const auto held = co_await io.run([&store] { return store.list(); });
  const auto listed = co_await read_listing(&ports, self);
  auto plan = plan_reconcile(held, listed);
  ReconcileReport report;

  // Verify what is listed and looks right; a block that fails joins the
  // dropped and the lost.
  const auto checks = co_await io.run([&store, &plan] {
    std::vector<Check> out;
    for (const auto& listed_here : plan.verify) {
      const auto& block = listed_here.entry;
      try {
        store.verify(listed_here.name, block.version);
        out.push_back(Check::intact);
      } catch (const CorruptBlock& corrupt) {
        spdlog::warn("event=sdfs_block_corrupt name={} version={} reason={}", core::log_quote(listed_here.name),
                     block.version, core::log_quote(corrupt.reason()));
        out.push_back(Check::damaged);
      } catch (const core::DiskError& error) {
        spdlog::warn("event=sdfs_block_unreadable name={} version={} error={}", core::log_quote(listed_here.name),
                     block.version, core::log_quote(error.what()));
        out.push_back(Check::damaged);
      }
    }
    return out;
  });
  for (std::size_t i = 0; i < plan.verify.size(); ++i) {
    const auto& listed_here = plan.verify[i];
    if (checks[i] == Check::intact) {
      ++report.kept;
      continue;
    }
    ++report.corrupt;
    const auto& entry = listed_here.entry;
    plan.drop.push_back({listed_here.name, entry.version, entry.size, entry.checksum});
    if (entry.committed()) plan.lost.push_back(listed_here);
  }

  report.dropped = plan.drop.size() - report.corrupt;
  report.bad_files = plan.bad_files.size();
  co_await io.run([&store, &plan] {
    for (const auto& block : plan.drop) store.remove(block.name, block.version);
    for (const auto& file : plan.bad_files) store.discard_bad(file);
  });

  for (const auto& version : plan.lost) {
    const auto result = co_await ports.submit(sdfs_remove_replica(version.name, version.entry.version, self));
    if (result && result->ok()) ++report.lost;
  }
  spdlog::info("event=sdfs_reconciled node={} kept={} dropped={} corrupt={} lost={} bad_files={} seconds={:.3f}", self,
               report.kept, report.dropped, report.corrupt, report.lost, report.bad_files,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return report;
}

}  // namespace idunno::fs
