#pragma once
// DataNode: the SDFS data service of one node, on its data-stream server and
// RPC server, over its block store on the node's I/O pool.
//
// Why: a put must reach `replicas` nodes without the sender paying for each
// copy, a read must never hand out bad bytes, and the coordinator must be
// able to copy or remove a replica with one call. So:
//  - "sdfs.store" (stream, StoreHeader): an HDFS-style pipelined chain. The
//    node writes each piece to its BlockWriter and forwards it to the next
//    node of the chain at the same time; a downstream node that cannot be
//    reached or refuses is skipped (the next one is tried), a downstream
//    that fails mid-stream is reported, and neither fails the upstream. A
//    node whose own disk fails (ENOSPC, EIO) keeps forwarding and reports
//    its error. The trailer back (StoreAck) lists the nodes that hold the
//    version durably (BlockWriter::finish done, content checksum matched)
//    and the errors of the others. Flow control is the streams': a slow
//    replica slows the chain; memory is one piece per hop.
//  - "sdfs.fetch" (stream, FetchHeader): a range of one version, every
//    chunk verified as it is read; a corrupt replica rejects or cancels the
//    stream with FetchCode::corrupt and logs `event=sdfs_corrupt_replica`,
//    never sends bytes that did not verify.
//  - "sdfs.replicate" / "sdfs.drop" (RPC): pull a version from a source node
//    into this store (answered once durable and checksum-verified) / remove
//    blocks. replicate() and drop() below are their client calls.
//
// Threading: constructed on the main thread before the transport starts
// (it registers its methods); every coroutine runs on the event loop, all
// disk work on `io_pool`. Handlers belong to the servers' task groups, so
// the servers' stop() ends them.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/thread_pool.hpp"
#include "fs/block_sink.hpp"
#include "fs/block_store.hpp"
#include "fs/sdfs_stats.hpp"
#include "fs/transfer.pb.h"
#include "net/data_stream.hpp"
#include "net/data_stream_client.hpp"
#include "net/data_stream_server.hpp"
#include "net/rpc.hpp"

namespace idunno::fs {

inline constexpr const char* kStoreMethod = "sdfs.store";
inline constexpr const char* kFetchMethod = "sdfs.fetch";
inline constexpr const char* kReplicateMethod = "sdfs.replicate";
inline constexpr const char* kDropMethod = "sdfs.drop";

// Application codes of refused or cancelled SDFS streams.
enum class FetchCode : std::uint32_t {
  bad_request = static_cast<std::uint32_t>(net::StreamWireCode::app_code_base) + 1,
  not_found,
  corrupt,
  disk_error,
};

// A node of a store chain.
struct ChainNode {
  std::string name;
  core::HostPort address;
};

struct DataNodeOptions {
  std::string self_name;  // this node's member name (what acks list)
  // Bytes moved per read/write on a stream and per pool job: a chunk at
  // the default chunk size (fewer wake-ups per byte than 256 KiB pieces).
  std::size_t piece_bytes = 1024 * 1024;
  // Deadline of the fetch stream a replicate call opens (0: none; the
  // stream's idle and write timeouts still apply).
  std::chrono::milliseconds transfer_deadline{0};
};

class DataNode {
 public:
  // Clears the store's leftover temporary files (blocking: call before the
  // loop runs) and registers the four methods. Everything passed outlives
  // the data node.
  DataNode(boost::asio::any_io_executor executor, BlockStore& store, core::ThreadPool& io_pool,
           net::DataStreamServer& stream_server, net::DataStreamClient& stream_client, net::RpcServer& rpc_server,
           SdfsStats& stats, DataNodeOptions options);

  const std::string& self_name() const { return options_.self_name; }

 private:
  boost::asio::awaitable<void> serve_store(net::DataStream upstream);
  boost::asio::awaitable<void> serve_fetch(net::DataStream stream);
  boost::asio::awaitable<pb::TransferReply> serve_replicate(core::HostPort peer, pb::ReplicateRequest request);
  boost::asio::awaitable<pb::TransferReply> serve_drop(core::HostPort peer, pb::DropRequest request);

  boost::asio::any_io_executor executor_;
  BlockStore& store_;
  core::ThreadPool& io_pool_;
  net::DataStreamClient& stream_client_;
  SdfsStats& stats_;
  DataNodeOptions options_;
};

// Opens a store chain from outside it: the first node of `chain` that
// accepts gets the stream (with the rest as its downstream); the nodes
// skipped are added to `skipped` with why. When no node accepted, the
// returned stream is the last refused one (status not ok), or invalid
// (valid() false) for an empty chain. `size` must be exact; `checksum` may be 0
// (then send it in the StoreEnd trailer). Event loop only.
boost::asio::awaitable<net::DataStream> open_store_chain(net::DataStreamClient& client, std::string name,
                                                         std::uint64_t version, std::uint64_t size,
                                                         std::uint64_t checksum, std::vector<ChainNode> chain,
                                                         std::vector<pb::NodeError>* skipped);

// One node's part of a store chain: each piece goes into this node's block
// and to the next node of the chain at once. A downstream node that cannot
// be reached or refuses is skipped (the next one is tried); one that fails
// mid-stream is dropped and reported; a local disk failure is reported and
// the forwarding goes on. A data node runs one for every store stream it
// serves, and a put whose first replica is its own node runs one over its
// source, so that copy never crosses a socket. Event loop only.
class ChainHop {
 public:
  ChainHop(BlockStore& store, core::ThreadPool& io_pool, net::DataStreamClient& client, SdfsStats& stats,
           std::string self);
  // Starts this node's block of `size` bytes and opens the chain below it
  // (`downstream`; `checksum` 0: it comes in the StoreEnd trailer).
  boost::asio::awaitable<void> open(std::string name, std::uint64_t version, std::uint64_t size, std::uint64_t checksum,
                                    std::vector<ChainNode> downstream);
  // The same for a store stream's header; a downstream node whose address
  // does not parse is reported and skipped.
  boost::asio::awaitable<void> open(pb::StoreHeader header);
  // The bytes must stay valid until the call returns.
  boost::asio::awaitable<void> append(std::span<const std::uint8_t> piece);
  // Every byte came (else fail() first): makes the block durable if its
  // content's XXH3-64 is `checksum` (0: not checked), ends the downstream
  // with `end` (a StoreEnd) and returns the acknowledgement of this node and
  // of those below it.
  boost::asio::awaitable<pb::StoreAck> finish(std::uint64_t checksum, std::string end);
  // The bytes' source failed: nothing of this version stays, here or below.
  boost::asio::awaitable<void> abandon();
  // A failure not of the disk (a short stream); this node's block is dropped.
  void fail(std::string error) { sink_.fail(std::move(error)); }
  bool durable() const { return sink_.durable(); }
  const std::string& error() const { return sink_.error(); }

 private:
  BlockSink sink_;
  net::DataStreamClient& client_;
  SdfsStats& stats_;
  std::string self_;
  pb::StoreAck ack_;
  net::DataStream downstream_;  // invalid: none (the end of the chain, or it broke)
  // The node the stream goes to first, then the ones it forwards to.
  std::vector<std::string> reached_;
};

// Reads from `stream` until `buffer` is full, the peer's direction ended
// (`ended`, with the bytes before the end in `bytes`) or the stream failed
// (`status`; bytes read before the failure are not reported). Pieces are
// then as large as the buffer however the bytes arrived, so the disk and
// the next hop see few large writes instead of many small ones.
boost::asio::awaitable<net::DataRead> read_piece(net::DataStream stream, std::span<std::uint8_t> buffer);

// A local block opened for reading on the I/O pool: the reader, or why
// there is none (not_found, corrupt: its header or footer did not verify,
// disk_error).
struct OpenedBlock {
  std::shared_ptr<BlockReader> reader;
  FetchCode failure = FetchCode::bad_request;
  std::string error;
};
boost::asio::awaitable<OpenedBlock> open_block(BlockStore* store, core::ThreadPool* io_pool, std::string name,
                                               std::uint64_t version);

// What read_block_range came to.
struct BlockRangeRead {
  std::uint64_t sent = 0;      // bytes `consume` took
  std::string read_error;      // reading the block failed after `sent` bytes (empty: it did not)
  bool corrupt = false;        // ... because a chunk did not verify
  net::StreamStatus consumer;  // not ok: `consume` failed, and the read stopped
};
using PieceConsumer = std::function<boost::asio::awaitable<net::StreamStatus>(std::span<const std::uint8_t> piece)>;
// Reads `length` bytes from `offset` of an opened block, chunk by chunk on
// the I/O pool, each chunk verified in the buffer it was read into, and
// hands it to `consume` from there in pieces of at most `piece_bytes` while
// the next chunk is read, so the disk and whatever takes the bytes (a fetch
// stream, a node's own reader) overlap. What a fetch serves and a node
// reading its own replica both use; it holds at most two chunks' buffers.
boost::asio::awaitable<BlockRangeRead> read_block_range(core::ThreadPool* io_pool, std::shared_ptr<BlockReader> reader,
                                                        std::uint64_t offset, std::uint64_t length,
                                                        std::size_t piece_bytes, PieceConsumer consume);

// Logs `event=sdfs_corrupt_replica` for a copy on node `self` that did not
// verify (it is never served).
void log_corrupt_replica(const std::string& self, const std::string& name, std::uint64_t version,
                         const std::string& error);

// The outcome of replicate() and drop(): ok, or what went wrong (the
// target's error, or why it could not be asked: unreachable, timed out).
struct TransferResult {
  bool ok = false;
  std::string error;
};

// What replicate() asks a node to copy.
struct ReplicaSource {
  std::string name;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the whole content (from the namespace)
  core::HostPort source;       // a live node holding a good copy
};

// Asks `target` to pull `what` from its source into its block store. ok
// only once the copy is durable there and its checksum matched; a copy that
// failed leaves nothing on the target. `deadline` bounds the whole copy
// (size it to the file: the target is cancelled when it passes). Never
// throws for a failure of the call itself (see TransferResult).
boost::asio::awaitable<TransferResult> replicate(net::RpcClient& rpc, core::HostPort target, ReplicaSource what,
                                                 std::chrono::milliseconds deadline);

// Asks `target` to remove the blocks of `versions` of `name` (a missing
// block is fine: ok). Never throws for a failure of the call itself.
boost::asio::awaitable<TransferResult> drop(net::RpcClient& rpc, core::HostPort target, std::string name,
                                            std::vector<std::uint64_t> versions, std::chrono::milliseconds deadline);

}  // namespace idunno::fs
