#pragma once
// The data path of a put: its bytes, hashed as they go, along the replica
// chain (fs/data_node.hpp), starting at this node's own ChainHop when it is
// the first replica, else at a store stream to the first replica that
// accepts; and what that came to, for Sdfs::put to commit or abort.
//
// Event loop only.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fs/data_node.hpp"
#include "fs/sdfs.hpp"
#include "fs/sdfs_stats.hpp"
#include "fs/transfer.pb.h"
#include "net/data_stream.hpp"
#include "net/data_stream_client.hpp"

namespace idunno::fs {

// What streaming a put along its chain came to.
struct ChainOutcome {
  pb::StoreAck ack;
  std::vector<pb::NodeError> skipped;
  std::uint64_t checksum = 0;
  std::string failure;  // the chain as a whole failed (empty: the ack counts)
  bool source_failed = false;
  bool cancelled = false;  // the source's read was cancelled (the put's caller went away)
};

// Where a put's bytes go first: this node's own ChainHop when it is the
// first replica (its copy never crosses a socket, and the hop forwards to
// the rest), else a store stream to the first replica that accepts.
class ChainStart {
 public:
  ChainStart(net::DataStreamClient& streams, ChainHop* own) : streams_(streams), own_(own) {}
  bool own() const { return own_ != nullptr; }
  // False when no replica accepted the data.
  boost::asio::awaitable<bool> open(std::string name, std::uint64_t version, std::uint64_t size,
                                    std::vector<ChainNode> chain, std::vector<pb::NodeError>* skipped);
  // Empty, or why the chain as a whole failed.
  boost::asio::awaitable<std::string> write(std::span<const std::uint8_t> piece);
  // The source failed: nothing of the version stays anywhere.
  boost::asio::awaitable<void> cancel();
  // The chain's acknowledgement; `failure` set when none came.
  boost::asio::awaitable<pb::StoreAck> finish(std::uint64_t checksum, std::string* failure);

 private:
  net::DataStreamClient& streams_;
  ChainHop* own_;
  net::DataStream stream_;
};

// Streams `size` bytes from `source` through `start` along `chain` in
// pieces of `piece_bytes`. Fills `result` (owned by the awaiting caller;
// GCC 12 fails to copy the outcome out of a coroutine with several
// co_returns).
boost::asio::awaitable<void> send_chain(ChainStart* start, ByteSource source, std::uint64_t size, std::string name,
                                        std::uint64_t version, std::vector<ChainNode> chain, std::size_t piece_bytes,
                                        SdfsStats* stats, ChainOutcome* result);

}  // namespace idunno::fs
