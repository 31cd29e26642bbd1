#pragma once
// ShardRunner: the worker side of an inference job. It runs one shard a
// coordinator leased to this node: loads the task's model (cached by the
// engine), reads the shard's queries from SDFS, runs them in batches of
// task.batch on the ML engine, stores the result lines in SDFS as
// task.results and returns the outcome the coordinator records.
//
// Why: a shard's result must be a deterministic function of the task
// (DESIGN.md 6), so that a re-run on another worker after a failure writes
// the same bytes. Everything that decides the result is in the task (model
// and dataset versions, range, batch size); the number of batches in flight
// changes only how fast it runs. A plain IDX file is read by range (its
// header once per version, then just the shard's items and labels); a
// gzip'd one cannot be, so it is fetched whole once and kept decoded in a
// small cache.
//
// SDFS is reached through ShardRunnerPorts, so tests run the runner over an
// in-memory file map and the node over fs::Sdfs.
//
// Event loop only (several runs may be in progress at once, interleaved on
// the loop). The engine, the ports' targets and the decode pool outlive the
// runner.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/slot_gate.hpp"
#include "ml/base/dataset.hpp"
#include "ml/base/idx.hpp"
#include "ml/engine/engine.hpp"
#include "ml/jobs/shard_task.hpp"

namespace idunno::core {
class ThreadPool;
}
namespace idunno::fs {
class Sdfs;
}

namespace idunno::cli {

// How the runner reads and writes SDFS. Both throw on failure.
struct ShardRunnerPorts {
  // Bytes [offset, offset + length) (nullopt: to the end) of SDFS file
  // `name` at `version`.
  std::function<boost::asio::awaitable<std::string>(std::string name, std::uint64_t version, std::uint64_t offset,
                                                    std::optional<std::uint64_t> length)>
      fetch;
  // Stores `bytes` as the next version of `name`; returns that version.
  std::function<boost::asio::awaitable<std::uint64_t>(std::string name, std::string bytes)> put;
};

// Bytes [offset, offset + length) (nullopt: to the end) of `name` at
// `version`, in memory; throws fs::SdfsError.
boost::asio::awaitable<std::string> sdfs_fetch(fs::Sdfs* sdfs, std::string name, std::uint64_t version,
                                               std::uint64_t offset, std::optional<std::uint64_t> length);
// Stores `bytes` as the next version of `name`; returns the version.
boost::asio::awaitable<std::uint64_t> sdfs_put(fs::Sdfs* sdfs, std::string name, std::string bytes);

// "NAME@vVERSION": a file version in cache keys and messages.
std::string at_version(const std::string& name, std::uint64_t version);

// The ports over a node's SDFS client (sdfs_fetch, sdfs_put).
ShardRunnerPorts sdfs_runner_ports(fs::Sdfs& sdfs);

struct ShardRunnerOptions {
  // Batches of one shard on the engine at once; 0: one per engine slot.
  // The results do not depend on it.
  std::size_t in_flight = 0;
  // Why there is no engine (ExecutorService::problem), for the error a run
  // fails with when the node has none.
  std::function<std::string()> engine_problem;
  // Decodes gzip'd datasets off the event loop when set (the node's I/O
  // pool); null: on the loop.
  core::ThreadPool* decode_pool = nullptr;
  // Decoded gzip'd datasets kept (each is the whole dataset).
  std::size_t dataset_cache = 2;
};

// Where a plain-IDX shard's bytes are: the items of queries [begin, end)
// and, with labels, their label bytes. Throws std::runtime_error when the
// task's range or layout cannot be read that way.
struct ShardReads {
  ml::ByteRange images;
  std::optional<ml::ByteRange> labels;
};
ShardReads plain_shard_reads(const ml::jobs::ShardTask& task);

// The queries of each batch of a shard of `queries` queries in batches of
// `batch` (the last may be short).
std::vector<std::uint64_t> batch_query_counts(std::uint64_t queries, std::uint64_t batch);

class ShardRunner {
 public:
  // `engine` may be null (a node without ML): runs then fail, saying why.
  ShardRunner(ml::Engine* engine, ShardRunnerPorts ports, std::string worker_name, ShardRunnerOptions options = {});

  // Runs the shard and stores its results; returns the outcome
  // (finished_ms is this node's wall clock). Throws std::runtime_error
  // naming what failed: no engine, an unknown model, a model whose input
  // does not fit the dataset's samples, a bad task, a failed read or put.
  // Nothing is stored when it throws.
  boost::asio::awaitable<ml::jobs::ShardOutcome> run(ml::jobs::ShardTask task);

  // What training runs (train_runner.hpp) share with shards.
  // The engine, or a runtime_error saying why there is none.
  ml::Engine& engine() const;
  // The task's model from the engine's cache, the zoo or SDFS (a file
  // without IDunno's metadata takes `input`).
  boost::asio::awaitable<ml::ModelPtr> model_for(ml::jobs::ModelRef model, ml::ImageShape input);
  // The whole dataset, decoded (cached, a few at most).
  boost::asio::awaitable<ml::DatasetPtr> whole_dataset(ml::jobs::DatasetRef data);
  // ports_.fetch, with the file named in its error and a short read an
  // error.
  boost::asio::awaitable<std::string> fetch_checked(std::string name, std::uint64_t version, std::uint64_t offset,
                                                    std::optional<std::uint64_t> length, std::string what);
  // ports_.put, with `what` and the file named in its error.
  boost::asio::awaitable<std::uint64_t> store(std::string name, std::string bytes, std::string what);

 private:
  boost::asio::awaitable<ml::jobs::ShardOutcome> run_task(ml::jobs::ShardTask task);
  // Checks a plain IDX file's header (and its labels file's) against the
  // task; returns the sample shape.
  boost::asio::awaitable<ml::ImageShape> plain_shape(ml::jobs::DatasetRef data);
  boost::asio::awaitable<ml::DatasetPtr> plain_shard(ml::jobs::ShardTask task);
  // The cached decoded dataset under `key` (made most recent), or null.
  ml::DatasetPtr cached_dataset(const std::string& key);
  boost::asio::awaitable<std::string> header_of(std::string name, std::uint64_t version, std::uint64_t bytes);
  std::size_t in_flight() const;

  ml::Engine* engine_;
  ShardRunnerPorts ports_;
  std::string worker_name_;
  ShardRunnerOptions options_;
  // IDX headers by (file, version): a few bytes each, immutable.
  std::map<std::pair<std::string, std::uint64_t>, std::string> headers_;
  // Decoded whole datasets, most recently used first.
  std::list<std::pair<std::string, ml::DatasetPtr>> datasets_;
  // One whole-dataset load at a time, so that shards of one gzip'd dataset
  // started together fetch and decode it once.
  std::shared_ptr<core::SlotGate> loading_ = core::SlotGate::create(1);
};

}  // namespace idunno::cli
