#include "cli/shard_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>

#include "core/wall_clock.hpp"
#include "core/logging.hpp"
#include "core/thread_pool.hpp"
#include "fs/sdfs.hpp"
#include "ml/base/idx_dataset.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
using ml::jobs::DatasetRef;
using ml::jobs::ModelRef;
using ml::jobs::ShardOutcome;
using ml::jobs::ShardTask;

namespace {

std::uint64_t checked_product(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) throw std::runtime_error(std::string("the task's ") + what + " overflows");
  return out;
}

std::uint64_t checked_sum(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) throw std::runtime_error(std::string("the task's ") + what + " overflows");
  return out;
}

void check_task(const ShardTask& task) {
  if (task.batch == 0) throw std::runtime_error("the task's batch size is 0");
  if (task.begin > task.end || task.end > task.data.queries) {
    throw std::runtime_error("the task's queries [" + std::to_string(task.begin) + ", " + std::to_string(task.end) +
                             ") are not within the dataset's " + std::to_string(task.data.queries));
  }
  if (task.results.empty()) throw std::runtime_error("the task names no results file");
}

asio::awaitable<void> append_to(std::shared_ptr<std::string> out, std::span<const std::uint8_t> bytes) {
  out->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  co_return;
}

asio::awaitable<std::size_t> next_piece(std::shared_ptr<std::string> bytes, std::shared_ptr<std::size_t> at,
                                        std::span<std::uint8_t> buffer) {
  const std::size_t n = std::min(buffer.size(), bytes->size() - *at);
  std::copy_n(bytes->data() + *at, n, reinterpret_cast<char*>(buffer.data()));
  *at += n;
  co_return n;
}

std::shared_ptr<ml::IdxDataset> decode(std::string images, std::optional<std::string> labels, std::string name) {
  return ml::IdxDataset::from_bytes(std::move(images), std::move(labels), std::move(name));
}

}  // namespace

asio::awaitable<std::string> sdfs_fetch(fs::Sdfs* sdfs, std::string name, std::uint64_t version, std::uint64_t offset,
                                        std::optional<std::uint64_t> length) {
  auto out = std::make_shared<std::string>();
  if (length) out->reserve(*length);
  fs::ByteSink sink = [out](std::span<const std::uint8_t> bytes) { return append_to(out, bytes); };
  co_await sdfs->get(std::move(name), version, fs::ReadRange{offset, length}, std::move(sink));
  co_return std::move(*out);
}

asio::awaitable<std::uint64_t> sdfs_put(fs::Sdfs* sdfs, std::string name, std::string bytes) {
  auto content = std::make_shared<std::string>(std::move(bytes));
  auto at = std::make_shared<std::size_t>(0);
  fs::ByteSource source = [content, at](std::span<std::uint8_t> buffer) { return next_piece(content, at, buffer); };
  const fs::PutResult put = co_await sdfs->put(std::move(source), content->size(), std::move(name));
  co_return put.version;
}

ShardRunnerPorts sdfs_runner_ports(fs::Sdfs& sdfs) {
  ShardRunnerPorts ports;
  ports.fetch = [sdfs = &sdfs](std::string name, std::uint64_t version, std::uint64_t offset,
                               std::optional<std::uint64_t> length) {
    return sdfs_fetch(sdfs, std::move(name), version, offset, length);
  };
  ports.put = [sdfs = &sdfs](std::string name, std::string bytes) {
    return sdfs_put(sdfs, std::move(name), std::move(bytes));
  };
  return ports;
}

ShardReads plain_shard_reads(const ShardTask& task) {
  check_task(task);
  const DatasetRef& data = task.data;
  if (data.compressed) throw std::runtime_error("dataset " + data.images + " is gzip'd: it cannot be read by range");
  if (data.item_bytes == 0) throw std::runtime_error("the task gives dataset " + data.images + " 0 bytes per image");
  const std::uint64_t count = task.end - task.begin;
  ShardReads reads;
  reads.images.offset =
      checked_sum(data.images_header, checked_product(task.begin, data.item_bytes, "image offset"), "image offset");
  reads.images.length = checked_product(count, data.item_bytes, "image length");
  checked_sum(reads.images.offset, reads.images.length, "image range");
  if (data.labels) reads.labels = ml::ByteRange{checked_sum(data.labels_header, task.begin, "label offset"), count};
  return reads;
}

std::vector<std::uint64_t> batch_query_counts(std::uint64_t queries, std::uint64_t batch) {
  if (batch == 0) throw std::invalid_argument("batch size 0");
  std::vector<std::uint64_t> out;
  out.reserve(static_cast<std::size_t>(queries / batch + 1));
  for (std::uint64_t done = 0; done < queries; done += batch) out.push_back(std::min(batch, queries - done));
  return out;
}

ShardRunner::ShardRunner(ml::Engine* engine, ShardRunnerPorts ports, std::string worker_name,
                         ShardRunnerOptions options)
    : engine_(engine), ports_(std::move(ports)), worker_name_(std::move(worker_name)), options_(std::move(options)) {}

std::size_t ShardRunner::in_flight() const {
  if (options_.in_flight > 0) return options_.in_flight;
  return std::max<std::size_t>(1, engine_->stats().slots);
}

asio::awaitable<ShardOutcome> ShardRunner::run(ShardTask task) {
  const auto started = std::chrono::steady_clock::now();
  spdlog::info("event=task_started job={} shard={} attempt={} node={} begin={} end={}", core::log_quote(task.job),
               task.shard, task.attempt, core::log_quote(worker_name_), task.begin, task.end);
  std::exception_ptr failure;
  std::string reason;
  bool cancelled = false;
  ShardOutcome outcome;
  try {
    outcome = co_await run_task(task);
  } catch (const boost::system::system_error& e) {
    failure = std::current_exception();
    reason = e.what();
    cancelled = e.code() == asio::error::operation_aborted;
  } catch (const std::exception& e) {
    failure = std::current_exception();
    reason = e.what();
  } catch (...) {
    failure = std::current_exception();
    reason = "unknown error";
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (failure) {
    if (cancelled) {
      spdlog::info("event=task_cancelled job={} shard={} attempt={} node={} ms={}", core::log_quote(task.job),
                   task.shard, task.attempt, core::log_quote(worker_name_), ms);
    } else {
      spdlog::warn("event=task_failed job={} shard={} attempt={} node={} ms={} error={}", core::log_quote(task.job),
                   task.shard, task.attempt, core::log_quote(worker_name_), ms, core::log_quote(reason));
    }
    std::rethrow_exception(failure);
  }
  spdlog::info("event=task_finished job={} shard={} attempt={} node={} queries={} ms={}", core::log_quote(task.job),
               task.shard, task.attempt, core::log_quote(worker_name_), outcome.queries, ms);
  co_return outcome;
}

ml::Engine& ShardRunner::engine() const {
  if (engine_ == nullptr) {
    const std::string why = options_.engine_problem ? options_.engine_problem() : "this node was started without one";
    throw std::runtime_error("the ML engine is not loaded: " + why);
  }
  return *engine_;
}

asio::awaitable<ShardOutcome> ShardRunner::run_task(ShardTask task) {
  engine();
  check_task(task);
  const std::uint64_t count = task.end - task.begin;
  ml::DatasetPtr dataset;
  ml::ImageShape shape;
  if (task.data.compressed) {
    ml::DatasetPtr whole = co_await whole_dataset(task.data);
    dataset = ml::slice_dataset(std::move(whole), task.begin, task.end);
    shape = dataset->sample_shape();
  } else {
    shape = co_await plain_shape(task.data);
  }
  // The model before the shard's bytes: a task that cannot run fails
  // without reading them.
  ml::ModelPtr model = co_await model_for(task.model, shape);
  if (model->info().input != shape) {
    throw std::runtime_error("model " + task.model.name + " takes input " + ml::to_string(model->info().input) +
                             ", but dataset " + task.data.images + " has samples of " + ml::to_string(shape) +
                             ": use a model for " + ml::to_string(shape) + " images");
  }
  if (!dataset) dataset = co_await plain_shard(task);
  if (dataset->size() != count || dataset->first_index() != task.begin) {
    throw std::runtime_error("dataset " + task.data.images + ": the shard holds " + std::to_string(dataset->size()) +
                             " queries from " + std::to_string(dataset->first_index()) + ", the task asks for " +
                             std::to_string(count) + " from " + std::to_string(task.begin));
  }

  ml::ShardResult result = co_await engine_->infer_shard(model, dataset, 0, static_cast<std::size_t>(count),
                                                         static_cast<std::size_t>(task.batch), in_flight());
  ShardOutcome outcome;
  outcome.job = task.job;
  outcome.shard = task.shard;
  outcome.attempt = task.attempt;
  outcome.worker = worker_name_;
  outcome.queries = result.queries;
  outcome.labelled = result.labelled;
  outcome.correct = result.correct;
  outcome.batch_queries = batch_query_counts(count, task.batch);
  for (const auto t : result.batch_times) outcome.batch_ns.push_back(static_cast<std::int64_t>(t.count()));
  if (outcome.queries != count || outcome.batch_ns.size() != outcome.batch_queries.size()) {
    throw std::runtime_error("the engine returned " + std::to_string(outcome.queries) + " results in " +
                             std::to_string(outcome.batch_ns.size()) + " batches for " + std::to_string(count) +
                             " queries in " + std::to_string(outcome.batch_queries.size()));
  }
  std::string text = std::move(result.text);
  outcome.results_version = co_await store(task.results, std::move(text), "the results");
  outcome.finished_ms = core::wall_clock_ms();
  co_return outcome;
}

asio::awaitable<ml::ModelPtr> ShardRunner::model_for(ModelRef model, ml::ImageShape input) {
  if (model.zoo) {
    ml::ModelPtr built = co_await engine_->zoo_model(model.name, model.seed);
    co_return built;
  }
  const std::string key = "sdfs:" + at_version(model.name, model.version);
  if (auto cached = engine_->cached(key)) co_return cached;
  std::string bytes = co_await fetch_checked(model.name, model.version, 0, std::nullopt, "model");
  // A file without IDunno's metadata (a plain Python export) takes the
  // dataset's shape; one with metadata must match it.
  ml::LoadOptions options{.name = model.name, .source = ml::ModelSource::sdfs, .input = input, .normalization = {}};
  ml::ModelPtr loaded = co_await engine_->load_model(key, std::move(bytes), std::move(options));
  co_return loaded;
}

asio::awaitable<ml::ImageShape> ShardRunner::plain_shape(DatasetRef data) {
  const std::string what = at_version(data.images, data.images_version);
  const std::string header_bytes = co_await header_of(data.images, data.images_version, data.images_header);
  const ml::IdxHeader header = ml::parse_idx_header(header_bytes, what);
  const ml::ImageShape shape = ml::idx_image_shape(header, what);
  if (header.header_bytes != data.images_header || header.item_bytes() != data.item_bytes ||
      header.count() != data.queries) {
    throw std::runtime_error(what + ": the file holds " + std::to_string(header.count()) + " images of " +
                             std::to_string(header.item_bytes()) + " bytes after a " +
                             std::to_string(header.header_bytes) + "-byte header, the task expects " +
                             std::to_string(data.queries) + " of " + std::to_string(data.item_bytes) + " after " +
                             std::to_string(data.images_header));
  }
  if (data.labels) {
    const std::string labels_what = at_version(*data.labels, data.labels_version);
    const std::string labels_bytes = co_await header_of(*data.labels, data.labels_version, data.labels_header);
    const ml::IdxHeader labels = ml::parse_idx_header(labels_bytes, labels_what);
    if (labels.dims.size() != 1 || labels.header_bytes != data.labels_header || labels.count() != data.queries) {
      throw std::runtime_error(labels_what + ": not a labels file for the " + std::to_string(data.queries) +
                               " images of " + data.images + " (" + std::to_string(labels.count()) + " items of " +
                               std::to_string(labels.dims.size()) + " dimensions)");
    }
  }
  co_return shape;
}

asio::awaitable<ml::DatasetPtr> ShardRunner::plain_shard(ShardTask task) {
  const ShardReads reads = plain_shard_reads(task);
  const DatasetRef& data = task.data;
  const std::string header = co_await header_of(data.images, data.images_version, data.images_header);
  std::string images =
      co_await fetch_checked(data.images, data.images_version, reads.images.offset, reads.images.length, "images");
  std::optional<std::string> labels;
  if (reads.labels && data.labels) {
    std::string label_bytes =
        co_await fetch_checked(*data.labels, data.labels_version, reads.labels->offset, reads.labels->length, "labels");
    labels = std::move(label_bytes);
  }
  const std::string name = at_version(data.images, data.images_version) + "[" + std::to_string(task.begin) + ":" +
                           std::to_string(task.end) + "]";
  co_return ml::IdxDataset::from_range(header, static_cast<std::size_t>(task.begin), std::move(images),
                                       std::move(labels), name);
}

asio::awaitable<ml::DatasetPtr> ShardRunner::whole_dataset(DatasetRef data) {
  std::string key = at_version(data.images, data.images_version);
  if (data.labels) key += "+" + at_version(*data.labels, data.labels_version);
  if (auto cached = cached_dataset(key)) co_return cached;
  const auto gate = loading_;  // the lease may outlive this runner at shutdown
  const core::SlotGate::Lease lease = co_await gate->acquire(1);
  if (auto cached = cached_dataset(key)) co_return cached;  // loaded while this run waited
  std::string images = co_await fetch_checked(data.images, data.images_version, 0, std::nullopt, "images");
  std::optional<std::string> labels;
  if (data.labels) {
    std::string label_bytes = co_await fetch_checked(*data.labels, data.labels_version, 0, std::nullopt, "labels");
    labels = std::move(label_bytes);
  }
  const std::string name = at_version(data.images, data.images_version);
  ml::DatasetPtr decoded;
  if (options_.decode_pool != nullptr) {
    auto work = [images = std::move(images), labels = std::move(labels), name]() mutable {
      return decode(std::move(images), std::move(labels), name);
    };
    std::shared_ptr<ml::IdxDataset> done = co_await options_.decode_pool->run(std::move(work));
    decoded = std::move(done);
  } else {
    decoded = decode(std::move(images), std::move(labels), name);
  }
  if (decoded->size() != data.queries || decoded->has_labels() != data.labels.has_value()) {
    throw std::runtime_error(name + ": holds " + std::to_string(decoded->size()) + " images" +
                             (decoded->has_labels() ? " with labels" : "") + ", the task expects " +
                             std::to_string(data.queries) + (data.labels ? " with labels" : ""));
  }
  datasets_.emplace_front(key, decoded);
  while (datasets_.size() > std::max<std::size_t>(1, options_.dataset_cache)) datasets_.pop_back();
  co_return decoded;
}

ml::DatasetPtr ShardRunner::cached_dataset(const std::string& key) {
  for (auto it = datasets_.begin(); it != datasets_.end(); ++it) {
    if (it->first != key) continue;
    datasets_.splice(datasets_.begin(), datasets_, it);
    return datasets_.front().second;
  }
  return nullptr;
}

asio::awaitable<std::string> ShardRunner::header_of(std::string name, std::uint64_t version, std::uint64_t bytes) {
  auto key = std::make_pair(name, version);
  if (auto it = headers_.find(key); it != headers_.end() && it->second.size() == bytes) co_return it->second;
  std::string header = co_await fetch_checked(name, version, 0, bytes, "the header of");
  headers_[key] = header;
  co_return header;
}

asio::awaitable<std::string> ShardRunner::fetch_checked(std::string name, std::uint64_t version, std::uint64_t offset,
                                                        std::optional<std::uint64_t> length, std::string what) {
  const std::string where = what + " " + at_version(name, version) + " bytes [" + std::to_string(offset) + ", " +
                            (length ? std::to_string(offset + *length) : std::string("end")) + ")";
  std::string bytes;
  std::string error;
  try {
    auto pending = ports_.fetch(name, version, offset, length);
    bytes = co_await std::move(pending);
  } catch (const boost::system::system_error&) {
    throw;  // cancellation stays what it is
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) throw std::runtime_error("reading " + where + " from SDFS failed: " + error);
  if (length && bytes.size() != *length) {
    throw std::runtime_error("reading " + where + " from SDFS gave " + std::to_string(bytes.size()) +
                             " bytes (is the file shorter than the task says?)");
  }
  co_return bytes;
}

asio::awaitable<std::uint64_t> ShardRunner::store(std::string name, std::string bytes, std::string what) {
  std::uint64_t version = 0;
  std::string error;
  try {
    auto pending = ports_.put(name, std::move(bytes));
    version = co_await std::move(pending);
  } catch (const boost::system::system_error&) {
    throw;
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) throw std::runtime_error("storing " + what + " as " + name + " in SDFS failed: " + error);
  co_return version;
}

std::string at_version(const std::string& name, std::uint64_t version) { return name + "@v" + std::to_string(version); }

}  // namespace idunno::cli
