// Plain copies of gzip'd datasets: how JobService makes one (inflated) and
// how the coordinator removes those whose source version is gone
// (sweep_inflated, inflated_sweep_loop).

#include "cli/inflated_copies.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>

#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "ml/base/gzip.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string inflated_name(const std::string& name, std::uint64_t version) {
  return std::string(kInflatedPrefix) + at_version(name, version);
}

std::optional<InflatedSource> source_of_inflated(std::string_view copy) {
  if (!copy.starts_with(kInflatedPrefix)) return std::nullopt;
  copy.remove_prefix(kInflatedPrefix.size());
  const auto at = copy.rfind("@v");
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string_view digits = copy.substr(at + 2);
  std::uint64_t version = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() || version == 0) {
    return std::nullopt;
  }
  return InflatedSource{std::string(copy.substr(0, at)), version};
}

std::vector<std::string> stale_inflated_copies(const std::vector<std::string>& copies,
                                               const std::function<bool(const InflatedSource&)>& exists,
                                               const std::set<std::string>& in_use) {
  std::vector<std::string> out;
  for (const auto& copy : copies) {
    const auto source = source_of_inflated(copy);
    if (!source || in_use.contains(copy) || exists(*source)) continue;
    out.push_back(copy);
  }
  return out;
}

asio::awaitable<fs::NamedVersion> JobService::inflated(fs::NamedVersion source, std::uint64_t size, std::string what) {
  fs::Sdfs& sdfs = sdfs_.sdfs();
  const std::string copy = inflated_name(source.name, source.entry.version);
  std::string failure;
  try {
    fs::NamedVersion found = co_await sdfs.stat(copy);
    if (found.entry.size == size) co_return found;
  } catch (const fs::SdfsError& error) {
    if (error.kind() != fs::SdfsErrorKind::not_found) failure = error.what();  // not_found: none made yet
  }
  if (!failure.empty()) throw CommandError("cannot look for " + copy + ": " + failure);
  const auto started = std::chrono::steady_clock::now();
  const std::string stem = std::to_string(++scratch_files_);
  const std::filesystem::path zipped = scratch_ / (stem + ".gz");
  const std::filesystem::path plain = scratch_ / stem;
  struct Remove {
    std::vector<std::filesystem::path> paths;
    ~Remove() {
      std::error_code ignored;
      for (const auto& path : paths) std::filesystem::remove(path, ignored);
    }
  } const cleanup{{zipped, plain}};
  fs::PutResult put;
  try {
    co_await sdfs_.get_local(source, zipped.string());
    auto work = [zipped, plain, what, size] { return ml::gunzip_file(zipped, plain, what, size); };
    const std::uint64_t written = co_await sdfs_.io_pool().run(std::move(work));
    if (written != size) {
      throw std::runtime_error(what + " inflates to " + std::to_string(written) + " bytes; its header says " +
                               std::to_string(size));
    }
    put = co_await sdfs_.put_local(plain.string(), copy);
  } catch (const boost::system::system_error&) {
    throw;  // cancellation stays what it is
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty())
    throw CommandError("cannot inflate " + at_version(source.name, source.entry.version) + ": " + failure);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("event=dataset_inflated name={} version={} copy={} copy_version={} bytes={} ms={}", source.name,
               source.entry.version, copy, put.version, size, ms.count());
  fs::NamedVersion made;
  made.name = copy;
  made.entry.version = put.version;
  made.entry.size = put.size;
  co_return made;
}

asio::awaitable<void> JobService::sweep_inflated() {
  fs::Sdfs& sdfs = sdfs_.sdfs();
  auto listing = co_await sdfs.list(std::string(kInflatedPrefix));
  std::set<std::string> in_use;
  for (const auto& [name, job] : table_.jobs()) {
    if (job.state == ml::jobs::JobState::done || job.state == ml::jobs::JobState::failed) continue;
    for (const auto* data : {&job.data, job.train.eval ? &*job.train.eval : nullptr}) {
      if (data == nullptr) continue;
      in_use.insert(data->images);
      if (data->labels) in_use.insert(*data->labels);
    }
  }
  std::vector<std::string> copies;
  std::set<std::pair<std::string, std::uint64_t>> gone;
  for (const auto& copy : listing) {
    const auto source = source_of_inflated(copy.name);
    if (!source || in_use.contains(copy.name)) continue;
    copies.push_back(copy.name);
    std::string failure;
    try {
      auto looking = sdfs.stat(source->name, source->version);
      co_await std::move(looking);
    } catch (const fs::SdfsError& error) {
      if (error.kind() == fs::SdfsErrorKind::not_found) {
        gone.emplace(source->name, source->version);
      } else {
        failure = error.what();  // kept this time; the next sweep asks again
      }
    }
    if (!failure.empty()) {
      spdlog::info("event=inflated_source_unknown copy={} error={}", core::log_quote(copy.name),
                   core::log_quote(failure));
    }
  }
  // A `sub` that found a copy just before its source version was pruned
  // may lose the copy before its job is in the table; its shards then fail
  // their reads, as when a user deletes a copy by hand.
  const auto exists = [&gone](const InflatedSource& s) { return !gone.contains({s.name, s.version}); };
  for (const auto& copy : stale_inflated_copies(copies, exists, in_use)) {
    auto removing = sdfs.remove(copy);
    co_await std::move(removing);
    spdlog::info("event=inflated_copy_removed copy={} reason=\"its source version is gone\"", core::log_quote(copy));
  }
}

asio::awaitable<void> JobService::inflated_sweep_loop() {
  // At most one sweep a second, however many SDFS commands apply (the
  // sweep's own removes among them): a wake before then waits for it.
  auto next_sweep = std::chrono::steady_clock::time_point::min();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (sweep_due_ && leading_ && now >= next_sweep) {
      sweep_due_ = false;
      next_sweep = now + 1s;
      std::string failure;
      bool stopping = false;
      try {
        co_await sweep_inflated();
      } catch (const boost::system::system_error& e) {
        stopping = core::is_cancellation(e);
        failure = e.what();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (stopping) co_return;
      if (!failure.empty()) {
        sweep_due_ = true;  // again after the pause
        spdlog::info("event=inflated_sweep_failed error={}", core::log_quote(failure));
      }
    }
    if (sweep_due_ && leading_) {
      sweep_wake_.expires_at(next_sweep);
    } else {
      sweep_wake_.expires_at(std::chrono::steady_clock::time_point::max());
    }
    boost::system::error_code ignored;
    co_await sweep_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

}  // namespace idunno::cli
