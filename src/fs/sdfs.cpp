#include "fs/sdfs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "core/timeout.hpp"
#include "fs/data_node.hpp"
#include "fs/placement.hpp"
#include "fs/put_chain.hpp"
#include "fs/sdfs_name.hpp"

namespace idunno::fs {

namespace asio = boost::asio;

namespace {

SdfsErrorKind kind_of(SdfsStatus status) {
  switch (status) {
    case SdfsStatus::not_found: return SdfsErrorKind::not_found;
    case SdfsStatus::bad_name: return SdfsErrorKind::bad_name;
    default: return SdfsErrorKind::bad_request;
  }
}

void check_name(const std::string& name) {
  if (auto problem = sdfs_name_error(name)) throw SdfsError(SdfsErrorKind::bad_name, "bad SDFS name: " + *problem);
}

std::string describe(const std::string& name, std::uint64_t version) {
  return "\"" + name + "\" version " + std::to_string(version);
}

std::string join_errors(const pb::StoreAck& ack, const std::vector<pb::NodeError>& skipped) {
  std::string out;
  auto add = [&out](const pb::NodeError& e) { out += (out.empty() ? "" : "; ") + e.node() + ": " + e.error(); };
  for (const auto& e : skipped) add(e);
  for (const auto& e : ack.errors()) add(e);
  return out;
}

}  // namespace

Sdfs::Sdfs(asio::any_io_executor executor, SdfsCluster cluster, net::DataStreamClient& streams, BlockStore& store,
           core::ThreadPool& io_pool, SdfsStats& stats, SdfsOptions options)
    : executor_(executor),
      cluster_(std::move(cluster)),
      streams_(streams),
      store_(store),
      io_pool_(io_pool),
      stats_(stats),
      options_(std::move(options)) {}

Sdfs::~Sdfs() = default;

std::optional<core::HostPort> Sdfs::address_of(const std::string& node) const {
  for (const auto& m : cluster_.members()) {
    if (m.name == node) return m.address;
  }
  return std::nullopt;
}

asio::awaitable<SdfsResult> Sdfs::submit(std::string command) {
  std::string reply;
  bool timed_out = false;
  try {
    reply = co_await cluster_.submit(std::move(command), options_.submit_timeout);
  } catch (const core::TimeoutError&) {
    timed_out = true;
  }
  if (timed_out) {
    throw SdfsError(SdfsErrorKind::unavailable, "no coordinator committed the change within " +
                                                    std::to_string(options_.submit_timeout.count() / 1000) +
                                                    " s; is a majority of the nodes alive?");
  }
  co_return decode_sdfs_result(reply);
}

asio::awaitable<SdfsQueryResult> Sdfs::query(std::string query_bytes) {
  std::optional<std::string> reply;
  std::string why;
  try {
    reply = co_await cluster_.read(query_bytes, options_.read_timeout);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (reply) {
    // Whether this node's copy answered the same: only a copy that was
    // current at the last linearizable read may stand in for one.
    local_current_ = cluster_.local->query(query_bytes) == *reply;
    co_return decode_sdfs_query_result(*reply);
  }
  if (!local_current_) {
    // A node that just restarted, or lags: its copy may miss acknowledged
    // versions, so no answer is better than an old one.
    throw SdfsError(SdfsErrorKind::unavailable, "no coordinator answered within " +
                                                    std::to_string(options_.read_timeout.count()) +
                                                    " ms and this node's copy of the namespace is not known to be "
                                                    "current: " +
                                                    why);
  }
  // An election (or a minority side): this node's copy is the best left.
  spdlog::debug("event=sdfs_local_read reason={}", core::log_quote(why));
  co_return decode_sdfs_query_result(cluster_.local->query(query_bytes));
}

asio::awaitable<PutResult> Sdfs::put(ByteSource source, std::uint64_t size, std::string name) {
  check_name(name);
  std::vector<std::string> live;
  for (const auto& m : cluster_.members()) live.push_back(m.name);
  const auto quorum = static_cast<std::size_t>(std::max(1, options_.config.write_quorum));
  auto replicas = choose_replicas(name, cluster_.local->next_version(name), live,
                                  static_cast<std::size_t>(std::max(1, options_.config.replicas)));
  if (replicas.size() < quorum) {
    throw SdfsError(SdfsErrorKind::unavailable,
                    "only " + std::to_string(replicas.size()) +
                        " live nodes: a put needs sdfs.write_quorum = " + std::to_string(quorum) + " replicas");
  }
  // This node first when it is a replica: one copy never crosses the network.
  if (auto self = std::find(replicas.begin(), replicas.end(), options_.self_name); self != replicas.end()) {
    std::rotate(replicas.begin(), self, self + 1);
  }
  SdfsResult begun = co_await submit(sdfs_begin(name, size, 0, replicas));
  if (!begun.ok()) throw SdfsError(kind_of(begun.status), begun.error);
  const std::uint64_t version = begun.version;
  std::vector<ChainNode> chain;
  for (const auto& node : replicas) {
    if (auto address = address_of(node)) chain.push_back({node, *address});
  }
  ChainOutcome outcome;
  std::optional<ChainHop> own;
  if (!chain.empty() && chain.front().name == options_.self_name) {
    own.emplace(store_, io_pool_, streams_, stats_, options_.self_name);
  }
  ChainStart start(streams_, own ? &*own : nullptr);
  auto sending =
      send_chain(&start, std::move(source), size, name, version, chain, options_.piece_bytes, &stats_, &outcome);
  co_await std::move(sending);
  std::vector<std::string> stored(outcome.ack.stored().begin(), outcome.ack.stored().end());
  std::sort(stored.begin(), stored.end());
  if (outcome.failure.empty() && stored.size() >= quorum) {
    SdfsResult committed = co_await submit(
        sdfs_commit(name, version, stored, static_cast<std::uint32_t>(options_.config.max_versions), outcome.checksum));
    if (!committed.ok()) throw SdfsError(kind_of(committed.status), committed.error);
    const std::string errors = join_errors(outcome.ack, outcome.skipped);
    if (!errors.empty()) {
      spdlog::info("event=sdfs_put_partial name={} version={} stored={} errors={}", core::log_quote(name), version,
                   stored.size(), core::log_quote(errors));
    }
    stats_.record({"put", name, version, size, "", "ok"});
    co_return PutResult{name, version, size, stored};
  }
  // Not enough copies: the version must never become visible.
  std::string why = outcome.failure;
  if (why.empty()) {
    why = "only " + std::to_string(stored.size()) + " of " + std::to_string(replicas.size()) +
          " replicas stored it (sdfs.write_quorum = " + std::to_string(quorum) + ")";
  }
  const std::string errors = join_errors(outcome.ack, outcome.skipped);
  if (!errors.empty()) why += ": " + errors;
  std::string abort_error;
  try {
    // The coordinator drops what the abort removed (ReplicaManager).
    SdfsResult aborted = co_await submit(sdfs_abort(name, version));
    (void)aborted;
  } catch (const std::exception& e) {
    abort_error = e.what();  // the version stays pending, which is invisible
  }
  if (!abort_error.empty()) {
    spdlog::warn("event=sdfs_abort_failed name={} version={} error={}", core::log_quote(name), version,
                 core::log_quote(abort_error));
  }
  if (outcome.cancelled) {
    stats_.record({"put", name, version, size, "", "cancelled"});
    throw boost::system::system_error(asio::error::operation_aborted);  // cancelled, not failed
  }
  stats_.record({"put", name, version, size, "", why});
  throw SdfsError(outcome.source_failed ? SdfsErrorKind::failed : SdfsErrorKind::unavailable,
                  "put of " + describe(name, version) + " failed: " + why);
}

asio::awaitable<NamedVersion> Sdfs::stat(std::string name, std::optional<std::uint64_t> version) {
  check_name(name);
  SdfsQueryResult result = co_await query(sdfs_lookup(name, version));
  if (!result.ok()) throw SdfsError(kind_of(result.status), result.error);
  if (result.versions.empty()) throw SdfsError(SdfsErrorKind::not_found, "there is no file \"" + name + "\"");
  co_return result.versions.front();
}

asio::awaitable<net::StreamStatus> Sdfs::read_from(core::HostPort from, std::string name, std::uint64_t version,
                                                   std::uint64_t offset, std::uint64_t length, ByteSink* sink,
                                                   std::uint64_t* delivered, bool* sink_failed) {
  pb::FetchHeader header;
  header.set_name(name);
  header.set_version(version);
  header.set_offset(offset);
  header.set_length(length);
  net::DataStream stream = co_await streams_.open(from, kFetchMethod, header.SerializeAsString());
  if (!stream.status().ok()) co_return stream.status();
  std::vector<std::uint8_t> buffer(options_.piece_bytes);
  std::uint64_t got_here = 0;
  for (;;) {
    net::DataRead got = co_await read_piece(stream, buffer);
    if (!got.status.ok()) co_return got.status;
    if (got.bytes == 0) break;  // ended
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(got.bytes, length - got_here));
    std::string sink_error;
    try {
      auto write = (*sink)(std::span<const std::uint8_t>(buffer.data(), take));
      co_await std::move(write);
    } catch (const std::exception& e) {
      sink_error = e.what();
    }
    if (!sink_error.empty()) {
      *sink_failed = true;
      stream.cancel(static_cast<std::uint32_t>(net::StreamWireCode::cancelled), "the reader went away");
      co_return net::StreamStatus::failure(net::StreamCode::cancelled_locally, sink_error);
    }
    got_here += take;
    *delivered += take;
    stats_.add_bytes_in(take);
    if (got.ended) break;
  }
  if (got_here < length) {
    co_return net::StreamStatus::failure(net::StreamCode::protocol_violation,
                                         "the replica ended after " + std::to_string(got_here) + " bytes");
  }
  // Our (empty) half ends too, so that the stream ends on both sides
  // instead of being cancelled when it is dropped. The bytes are all here:
  // how the end goes does not matter.
  co_await stream.finish();
  co_return net::StreamStatus{};
}

namespace {

// A piece of a node's own copy into a get's sink; a sink that throws stops
// the read.
asio::awaitable<net::StreamStatus> give_to_sink(ByteSink* sink, std::uint64_t* delivered, bool* sink_failed,
                                                std::span<const std::uint8_t> piece) {
  std::string sink_error;
  try {
    auto write = (*sink)(piece);
    co_await std::move(write);
  } catch (const std::exception& e) {
    sink_error = e.what();
  }
  if (!sink_error.empty()) {
    *sink_failed = true;
    co_return net::StreamStatus::failure(net::StreamCode::cancelled_locally, sink_error);
  }
  *delivered += piece.size();
  co_return net::StreamStatus{};
}

}  // namespace

asio::awaitable<std::string> Sdfs::read_own(std::string name, std::uint64_t version, std::uint64_t offset,
                                            std::uint64_t length, ByteSink* sink, std::uint64_t* delivered,
                                            bool* sink_failed) {
  auto opening = open_block(&store_, &io_pool_, name, version);
  OpenedBlock opened = co_await std::move(opening);
  if (!opened.reader) {
    if (opened.failure == FetchCode::corrupt) log_corrupt_replica(options_.self_name, name, version, opened.error);
    co_return "this node's copy: " + opened.error;
  }
  if (opened.reader->info().size < offset + length) {
    co_return "this node's copy holds " + std::to_string(opened.reader->info().size) + " bytes";
  }
  auto consume = [sink, delivered, sink_failed](std::span<const std::uint8_t> piece) {
    return give_to_sink(sink, delivered, sink_failed, piece);
  };
  auto reading = read_block_range(&io_pool_, opened.reader, offset, length, options_.piece_bytes, std::move(consume));
  BlockRangeRead read = co_await std::move(reading);
  if (!read.consumer.ok()) co_return read.consumer.message;
  if (!read.read_error.empty()) {
    if (read.corrupt) log_corrupt_replica(options_.self_name, name, version, read.read_error);
    co_return "this node's copy: " + read.read_error;
  }
  co_return std::string();
}

asio::awaitable<std::uint64_t> Sdfs::read(NamedVersion version, ReadRange range, ByteSink sink) {
  const std::uint64_t size = version.entry.size;
  if (range.offset > size) {
    throw SdfsError(SdfsErrorKind::bad_request, "the range starts at " + std::to_string(range.offset) +
                                                    ", past the end of the file (" + std::to_string(size) + " bytes)");
  }
  const std::uint64_t length = std::min(range.length.value_or(size - range.offset), size - range.offset);
  std::vector<std::string> order = version.entry.replicas;
  if (auto self = std::find(order.begin(), order.end(), options_.self_name); self != order.end()) {
    std::rotate(order.begin(), self, self + 1);
  }
  std::uint64_t delivered = 0;
  std::string errors;
  for (const auto& node : order) {
    if (delivered == length) break;
    bool sink_failed = false;
    std::string error;
    if (node == options_.self_name) {
      auto reading = read_own(version.name, version.entry.version, range.offset + delivered, length - delivered, &sink,
                              &delivered, &sink_failed);
      error = co_await std::move(reading);
    } else if (auto address = address_of(node)) {
      auto reading = read_from(*address, version.name, version.entry.version, range.offset + delivered,
                               length - delivered, &sink, &delivered, &sink_failed);
      net::StreamStatus status = co_await std::move(reading);
      if (!status.ok()) error = sink_failed ? status.message : status.describe();
    } else {
      errors += (errors.empty() ? "" : "; ") + node + ": not alive";
      continue;
    }
    if (sink_failed) {
      stats_.record({"get", version.name, version.entry.version, delivered, "", "reader failed"});
      throw SdfsError(SdfsErrorKind::failed,
                      "writing " + describe(version.name, version.entry.version) + " failed: " + error);
    }
    if (!error.empty()) {
      errors += (errors.empty() ? "" : "; ") + node + ": " + error;
      spdlog::info("event=sdfs_read_fallback name={} version={} node={} at={} error={}", core::log_quote(version.name),
                   version.entry.version, node, range.offset + delivered, core::log_quote(error));
    }
  }
  if (delivered < length) {
    stats_.record({"get", version.name, version.entry.version, delivered, "", "no replica"});
    throw SdfsError(SdfsErrorKind::unavailable, "no replica could serve " +
                                                    describe(version.name, version.entry.version) +
                                                    (errors.empty() ? std::string() : ": " + errors));
  }
  stats_.record({"get", version.name, version.entry.version, delivered, "", "ok"});
  co_return delivered;
}

asio::awaitable<NamedVersion> Sdfs::get(std::string name, std::optional<std::uint64_t> version, ReadRange range,
                                        ByteSink sink) {
  NamedVersion found = co_await stat(name, version);
  co_await read(found, range, std::move(sink));
  co_return found;
}

asio::awaitable<std::size_t> Sdfs::remove(std::string name) {
  check_name(name);
  SdfsResult result = co_await submit(sdfs_delete(name));
  if (!result.ok()) throw SdfsError(kind_of(result.status), result.error);
  stats_.record({"delete", name, 0, 0, "", "ok"});
  co_return result.removed.size();
}

asio::awaitable<std::vector<NamedVersion>> Sdfs::versions(std::string name, std::uint32_t count) {
  check_name(name);
  SdfsQueryResult result = co_await query(sdfs_versions(name, count));
  if (!result.ok()) throw SdfsError(kind_of(result.status), result.error);
  if (result.versions.empty()) throw SdfsError(SdfsErrorKind::not_found, "there is no file \"" + name + "\"");
  co_return result.versions;
}

asio::awaitable<std::vector<NamedVersion>> Sdfs::list(std::string prefix) {
  SdfsQueryResult result = co_await query(sdfs_list(prefix));
  if (!result.ok()) throw SdfsError(kind_of(result.status), result.error);
  co_return result.versions;
}

asio::awaitable<std::vector<BlockInfo>> Sdfs::stored() {
  auto job = [&store = store_]() { return store.list().blocks; };
  auto work = io_pool_.run(std::move(job));
  std::vector<BlockInfo> blocks = co_await std::move(work);
  co_return blocks;
}

}  // namespace idunno::fs
