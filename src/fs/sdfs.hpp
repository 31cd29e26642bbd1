#pragma once
// Sdfs: the SDFS client library every node uses (commands, the HTTP file
// API, jobs reading shards and writing results).
//
// Why: a put must become visible whole or not at all, and a get must keep
// working when replicas or the coordinator fail. So:
//  - put: Begin through the coordinator's log (the next version, the
//    replicas chosen by rendezvous placement over the live members, up to
//    sdfs.replicas), the bytes streamed once along the replica chain (the
//    data nodes forward them, fs/data_node.hpp; this node, when it is a
//    replica, comes first and writes its own copy itself) while their
//    XXH3-64 is computed, then Commit on the nodes that stored them durably if they
//    are at least sdfs.write_quorum, else Abort and an error naming what
//    failed. A version that was not committed is never visible.
//  - get: the newest committed version (or the one asked for) from the
//    namespace by a ReadIndex read; when no coordinator answers within the
//    read timeout (an election), from this node's own copy of the
//    namespace. The bytes stream from one replica (this node first when it
//    holds one, read straight from its block store); an error mid-stream
//    resumes on the next replica from the byte reached, so the sink sees
//    every byte once.
//  - Memory never depends on a file's size: one piece in flight per call.
//
// Sources and sinks are coroutines over a caller's buffer, so a local file
// (fs/sdfs_local.hpp) and an HTTP body are the same to it.
//
// Event loop only. Everything passed to the constructor outlives it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "fs/block_store.hpp"
#include "fs/namespace.hpp"
#include "fs/sdfs_stats.hpp"
#include "net/data_stream_client.hpp"
#include "net/rpc.hpp"

namespace idunno::fs {

enum class SdfsErrorKind : std::uint8_t {
  not_found,    // no such file or version
  bad_name,     // not a valid SDFS name
  bad_request,  // a size, range or argument that cannot work
  unavailable,  // too few replicas or no coordinator: try again later
  failed,       // the source or sink failed (a local file, an HTTP body)
};

class SdfsError : public std::runtime_error {
 public:
  SdfsError(SdfsErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  SdfsErrorKind kind() const { return kind_; }

 private:
  SdfsErrorKind kind_;
};

// A live member as SDFS needs it.
struct SdfsMember {
  std::string name;
  core::HostPort address;  // its cluster port
};

// How Sdfs reaches the namespace and the membership.
struct SdfsCluster {
  // Runs a namespace command (fs/sdfs_commands.hpp) through the
  // coordinator's log exactly once and returns its result bytes; throws
  // core::TimeoutError when no coordinator committed it in time.
  std::function<boost::asio::awaitable<std::string>(std::string command, std::chrono::milliseconds timeout)> submit;
  // A linearizable namespace query; throws core::TimeoutError.
  std::function<boost::asio::awaitable<std::string>(std::string query, std::chrono::milliseconds timeout)> read;
  // This node's copy of the namespace (possibly behind the coordinator's).
  const Namespace* local = nullptr;
  // The live members, this node included.
  std::function<std::vector<SdfsMember>()> members;
};

struct SdfsOptions {
  std::string self_name;
  core::SdfsSection config;
  std::chrono::milliseconds submit_timeout{10'000};
  // A read waits this long for a coordinator before using the local copy.
  std::chrono::milliseconds read_timeout{2'000};
  std::size_t piece_bytes = 1024 * 1024;
};

// Produces the next bytes into `buffer` and returns how many; 0 at the end.
// Throws to fail the operation.
using ByteSource = std::function<boost::asio::awaitable<std::size_t>(std::span<std::uint8_t> buffer)>;
// Takes bytes (valid only during the call). Throws to fail the operation.
using ByteSink = std::function<boost::asio::awaitable<void>(std::span<const std::uint8_t> bytes)>;

struct PutResult {
  std::string name;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  std::vector<std::string> replicas;
};

struct ReadRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // nullopt: to the end
};

class Sdfs {
 public:
  // The blocks of deleted, aborted and pruned versions are removed by the
  // coordinator (fs/replica_manager.hpp), not here.
  Sdfs(boost::asio::any_io_executor executor, SdfsCluster cluster, net::DataStreamClient& streams, BlockStore& store,
       core::ThreadPool& io_pool, SdfsStats& stats, SdfsOptions options);
  ~Sdfs();
  Sdfs(const Sdfs&) = delete;
  Sdfs& operator=(const Sdfs&) = delete;

  // Stores `size` bytes from `source` as the next version of `name`. A
  // source that gives more or fewer bytes fails the put. Throws SdfsError.
  boost::asio::awaitable<PutResult> put(ByteSource source, std::uint64_t size, std::string name);

  // The newest committed version (or `version`). Throws SdfsError
  // (not_found, bad_name).
  boost::asio::awaitable<NamedVersion> stat(std::string name, std::optional<std::uint64_t> version = std::nullopt);
  // Streams `range` of a version stat() found into `sink`; returns the
  // bytes written. Throws SdfsError (unavailable when no replica could
  // serve it, failed when the sink threw).
  boost::asio::awaitable<std::uint64_t> read(NamedVersion version, ReadRange range, ByteSink sink);
  // stat() then read().
  boost::asio::awaitable<NamedVersion> get(std::string name, std::optional<std::uint64_t> version, ReadRange range,
                                           ByteSink sink);

  // Deletes every version; returns how many there were. Throws SdfsError.
  boost::asio::awaitable<std::size_t> remove(std::string name);
  // The newest `count` committed versions, newest first (empty: none).
  boost::asio::awaitable<std::vector<NamedVersion>> versions(std::string name, std::uint32_t count);
  // The newest committed version of every file starting with `prefix`.
  boost::asio::awaitable<std::vector<NamedVersion>> list(std::string prefix);
  // The blocks this node holds.
  boost::asio::awaitable<std::vector<BlockInfo>> stored();

  const SdfsOptions& options() const { return options_; }

 private:
  // A query through ReadIndex, or the local copy when no coordinator
  // answers in time.
  boost::asio::awaitable<SdfsQueryResult> query(std::string query_bytes);
  boost::asio::awaitable<SdfsResult> submit(std::string command);
  // Streams from one replica; returns bytes delivered (the status says
  // whether it ended cleanly).
  boost::asio::awaitable<net::StreamStatus> read_from(core::HostPort from, std::string name, std::uint64_t version,
                                                      std::uint64_t offset, std::uint64_t length, ByteSink* sink,
                                                      std::uint64_t* delivered, bool* sink_failed);
  // Reads this node's own copy from its block store on the I/O pool, with
  // no stream and no socket. Returns what failed (empty: all of it came).
  boost::asio::awaitable<std::string> read_own(std::string name, std::uint64_t version, std::uint64_t offset,
                                               std::uint64_t length, ByteSink* sink, std::uint64_t* delivered,
                                               bool* sink_failed);
  std::optional<core::HostPort> address_of(const std::string& node) const;

  boost::asio::any_io_executor executor_;
  SdfsCluster cluster_;
  net::DataStreamClient& streams_;
  BlockStore& store_;
  core::ThreadPool& io_pool_;
  SdfsStats& stats_;
  SdfsOptions options_;
  // The local namespace answered like the last linearizable read did.
  bool local_current_ = false;
};

}  // namespace idunno::fs
