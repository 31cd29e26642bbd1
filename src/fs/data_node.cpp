#include "fs/data_node.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <array>
#include <exception>
#include <tuple>
#include <utility>

#include "core/logging.hpp"
#include "fs/block_sink.hpp"

namespace idunno::fs {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// One piece read from a block for a fetch.
struct FetchPiece {
  std::size_t bytes = 0;
  bool corrupt = false;
  std::string error;
};

std::uint32_t code(FetchCode c) { return static_cast<std::uint32_t>(c); }

void add_error(pb::StoreAck& ack, const std::string& node, std::string error) {
  auto* e = ack.add_errors();
  e->set_node(node);
  e->set_error(std::move(error));
}

asio::awaitable<net::StreamStatus> forward(net::DataStream downstream, std::span<const std::uint8_t> piece) {
  co_return co_await downstream.write(piece);
}

// A piece of a fetch, counted once the stream took it.
asio::awaitable<net::StreamStatus> send_piece(net::DataStream stream, SdfsStats* stats,
                                              std::span<const std::uint8_t> piece) {
  net::StreamStatus status = co_await stream.write(piece);
  if (status.ok()) stats->add_bytes_out(piece.size());
  co_return status;
}

// Ends the downstream direction and waits for its ack.
asio::awaitable<pb::StoreAck> finish_downstream(net::DataStream downstream, std::string end, std::string name) {
  pb::StoreAck ack;
  net::StreamStatus status = co_await downstream.finish(std::move(end));
  if (!status.ok()) {
    add_error(ack, name, "the chain broke at " + name + ": " + status.describe());
    co_return ack;
  }
  std::vector<std::uint8_t> scratch(64);
  for (;;) {
    net::DataRead got = co_await downstream.read(scratch);
    if (!got.status.ok()) {
      add_error(ack, name, "no acknowledgement from " + name + ": " + got.status.describe());
      co_return ack;
    }
    if (got.ended) break;
  }
  if (!ack.ParseFromString(downstream.trailer())) add_error(ack, name, name + " sent an unreadable acknowledgement");
  co_return ack;
}

}  // namespace

asio::awaitable<net::DataRead> read_piece(net::DataStream stream, std::span<std::uint8_t> buffer) {
  net::DataRead total;
  while (total.bytes < buffer.size()) {
    const net::DataRead got = co_await stream.read(buffer.subspan(total.bytes));
    if (!got.status.ok()) {
      total.status = got.status;
      total.bytes = 0;
      break;
    }
    if (got.ended) {
      total.ended = true;
      break;
    }
    total.bytes += got.bytes;
  }
  co_return total;
}

DataNode::DataNode(asio::any_io_executor executor, BlockStore& store, core::ThreadPool& io_pool,
                   net::DataStreamServer& stream_server, net::DataStreamClient& stream_client,
                   net::RpcServer& rpc_server, SdfsStats& stats, DataNodeOptions options)
    : executor_(std::move(executor)),
      store_(store),
      io_pool_(io_pool),
      stream_client_(stream_client),
      stats_(stats),
      options_(std::move(options)) {
  if (const auto removed = store_.clear_temporaries(); removed > 0) {
    spdlog::info("event=sdfs_temporaries_cleared count={}", removed);
  }
  stream_server.handle(kStoreMethod, [this](net::DataStream stream) { return serve_store(std::move(stream)); });
  stream_server.handle(kFetchMethod, [this](net::DataStream stream) { return serve_fetch(std::move(stream)); });
  net::handle_typed<pb::ReplicateRequest, pb::TransferReply>(
      rpc_server, kReplicateMethod, [this](const net::RpcContext& context, pb::ReplicateRequest request) {
        return serve_replicate(context.peer, std::move(request));
      });
  net::handle_typed<pb::DropRequest, pb::TransferReply>(
      rpc_server, kDropMethod, [this](const net::RpcContext& context, pb::DropRequest request) {
        return serve_drop(context.peer, std::move(request));
      });
}

namespace {

// The StoreHeader for chain[from] of a store chain: the version, its size
// and checksum (0: in the StoreEnd trailer), and the nodes after it.
pb::StoreHeader store_header(const std::string& name, std::uint64_t version, std::uint64_t size, std::uint64_t checksum,
                             const std::vector<ChainNode>& chain, std::size_t from) {
  pb::StoreHeader header;
  header.set_name(name);
  header.set_version(version);
  header.set_size(size);
  header.set_checksum(checksum);
  for (std::size_t j = from + 1; j < chain.size(); ++j) {
    auto* next = header.add_downstream();
    next->set_name(chain[j].name);
    next->set_address(chain[j].address.to_string());
  }
  return header;
}

asio::awaitable<net::DataStream> open_chain(net::DataStreamClient* client, std::string name, std::uint64_t version,
                                            std::uint64_t size, std::uint64_t checksum, std::vector<ChainNode> chain,
                                            std::vector<pb::NodeError>* skipped) {
  net::DataStream last;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const pb::StoreHeader header = store_header(name, version, size, checksum, chain, i);
    net::StreamOpenOptions options;
    options.declared_bytes = size;
    net::DataStream stream = co_await client->open(chain[i].address, kStoreMethod, header.SerializeAsString(), options);
    if (stream.status().ok()) co_return stream;
    pb::NodeError error;
    error.set_node(chain[i].name);
    error.set_error("could not open the store stream: " + stream.status().describe());
    skipped->push_back(std::move(error));
    last = stream;
  }
  co_return last;
}

}  // namespace

asio::awaitable<net::DataStream> open_store_chain(net::DataStreamClient& client, std::string name,
                                                  std::uint64_t version, std::uint64_t size, std::uint64_t checksum,
                                                  std::vector<ChainNode> chain, std::vector<pb::NodeError>* skipped) {
  return open_chain(&client, std::move(name), version, size, checksum, std::move(chain), skipped);
}

ChainHop::ChainHop(BlockStore& store, core::ThreadPool& io_pool, net::DataStreamClient& client, SdfsStats& stats,
                   std::string self)
    : sink_(store, io_pool), client_(client), stats_(stats), self_(std::move(self)) {}

asio::awaitable<void> ChainHop::open(pb::StoreHeader header) {
  std::vector<ChainNode> chain;
  for (const auto& node : header.downstream()) {
    auto address = core::parse_host_port(node.address());
    if (!address) {
      add_error(ack_, node.name(), "bad chain address '" + node.address() + "'");
      continue;
    }
    chain.push_back({node.name(), *address});
  }
  auto opening = open(header.name(), header.version(), header.size(), header.checksum(), std::move(chain));
  co_await std::move(opening);
}

asio::awaitable<void> ChainHop::open(std::string name, std::uint64_t version, std::uint64_t size,
                                     std::uint64_t checksum, std::vector<ChainNode> chain) {
  co_await sink_.open(name, version, size);
  if (chain.empty()) co_return;
  std::vector<pb::NodeError> skipped;
  auto opening = open_store_chain(client_, std::move(name), version, size, checksum, chain, &skipped);
  net::DataStream stream = co_await std::move(opening);
  for (auto& e : skipped) *ack_.add_errors() = std::move(e);
  if (stream.valid() && stream.status().ok()) {
    for (std::size_t i = skipped.size(); i < chain.size(); ++i) reached_.push_back(chain[i].name);
    downstream_ = stream;
  }
}

asio::awaitable<void> ChainHop::append(std::span<const std::uint8_t> piece) {
  if (!downstream_.valid()) {
    co_await sink_.append(piece);
    co_return;
  }
  auto both = sink_.append(piece) && forward(downstream_, piece);
  net::StreamStatus sent = co_await std::move(both);
  if (sent.ok()) {
    stats_.add_bytes_out(piece.size());
    co_return;
  }
  const std::string& next = reached_.front();
  add_error(ack_, next, "the chain broke at " + next + ": " + sent.describe());
  for (std::size_t j = 1; j < reached_.size(); ++j) {
    add_error(ack_, reached_[j], "not reached: the chain broke before it");
  }
  downstream_.cancel(code(FetchCode::bad_request), "the forward failed");
  downstream_ = net::DataStream();
}

asio::awaitable<pb::StoreAck> ChainHop::finish(std::uint64_t checksum, std::string end) {
  if (downstream_.valid()) {
    auto both = sink_.finish(checksum) && finish_downstream(downstream_, std::move(end), reached_.front());
    pb::StoreAck below = co_await std::move(both);
    ack_.MergeFrom(below);
  } else {
    co_await sink_.finish(checksum);
  }
  if (sink_.durable()) {
    ack_.add_stored(self_);
  } else {
    add_error(ack_, self_, sink_.error());
  }
  co_return ack_;
}

asio::awaitable<void> ChainHop::abandon() {
  co_await sink_.abandon();
  if (downstream_.valid()) downstream_.cancel(code(FetchCode::bad_request), "the upstream of the chain failed");
  downstream_ = net::DataStream();
}

asio::awaitable<void> DataNode::serve_store(net::DataStream upstream) {
  pb::StoreHeader header;
  if (!header.ParseFromString(upstream.header()) || header.name().empty()) {
    upstream.reject(code(FetchCode::bad_request), "a store stream needs a StoreHeader with a name");
    co_return;
  }
  const std::string peer = upstream.peer().to_string();
  ChainHop hop(store_, io_pool_, stream_client_, stats_, options_.self_name);
  auto opening = hop.open(header);
  co_await std::move(opening);
  net::StreamStatus accepted = co_await upstream.accept();
  if (!accepted.ok()) {
    co_await hop.abandon();
    co_return;
  }
  std::vector<std::uint8_t> buffer(options_.piece_bytes);
  std::uint64_t received = 0;
  for (;;) {
    net::DataRead got = co_await read_piece(upstream, buffer);
    if (!got.status.ok()) {
      // The sender is gone: nothing of this version may become visible.
      co_await hop.abandon();
      stats_.record({"store", header.name(), header.version(), received, peer, "upstream failed"});
      co_return;
    }
    if (got.bytes == 0) break;  // ended
    received += got.bytes;
    stats_.add_bytes_in(got.bytes);
    co_await hop.append(std::span<const std::uint8_t>(buffer.data(), got.bytes));
    if (got.ended) break;
  }
  pb::StoreEnd end;
  if (!end.ParseFromString(upstream.trailer())) end.Clear();
  const std::uint64_t expected = header.checksum() != 0 ? header.checksum() : end.checksum();
  end.set_checksum(expected);
  if (received != header.size()) {
    hop.fail("received " + std::to_string(received) + " of " + std::to_string(header.size()) + " bytes");
  }
  auto finishing = hop.finish(expected, end.SerializeAsString());
  pb::StoreAck ack = co_await std::move(finishing);
  stats_.record({"store", header.name(), header.version(), received, peer, hop.durable() ? "ok" : hop.error()});
  co_await upstream.finish(ack.SerializeAsString());
}

asio::awaitable<OpenedBlock> open_block(BlockStore* store, core::ThreadPool* io_pool, std::string name,
                                        std::uint64_t version) {
  auto job = [store, name = std::move(name), version]() -> OpenedBlock {
    try {
      return {std::shared_ptr<BlockReader>(store->open(name, version)), {}, {}};
    } catch (const BlockNotFound& e) {
      return {nullptr, FetchCode::not_found, e.what()};
    } catch (const CorruptBlock& e) {
      return {nullptr, FetchCode::corrupt, e.what()};
    } catch (const std::exception& e) {
      return {nullptr, FetchCode::disk_error, e.what()};
    }
  };
  auto opening = io_pool->run(std::move(job));
  co_return co_await std::move(opening);
}

namespace {

// Hands `bytes` to `consume` in pieces of at most `piece_bytes`, counting
// what it took in *sent; stops at the first piece it refuses.
asio::awaitable<net::StreamStatus> consume_pieces(const PieceConsumer* consume, std::span<const std::uint8_t> bytes,
                                                  std::size_t piece_bytes, std::uint64_t* sent) {
  net::StreamStatus status;
  piece_bytes = std::max<std::size_t>(piece_bytes, 1);
  for (std::size_t at = 0; at < bytes.size() && status.ok();) {
    const std::size_t n = std::min(piece_bytes, bytes.size() - at);
    auto consuming = (*consume)(bytes.subspan(at, n));
    status = co_await std::move(consuming);
    if (status.ok()) *sent += n;
    at += n;
  }
  co_return status;
}

}  // namespace

asio::awaitable<BlockRangeRead> read_block_range(core::ThreadPool* io_pool, std::shared_ptr<BlockReader> reader,
                                                 std::uint64_t offset, std::uint64_t length, std::size_t piece_bytes,
                                                 PieceConsumer consume) {
  BlockRangeRead out;
  if (length == 0) co_return out;
  // Two chunk buffers (the second only for a range over more than one
  // chunk), not zero-filled: each chunk is read and verified on the pool
  // straight into one, and handed out from there (no copy) while the next
  // chunk is read into the other.
  const std::size_t buffer_bytes = reader->chunk_buffer_bytes();
  std::array<std::unique_ptr<std::uint8_t[]>, 2> buffers;
  const auto read_chunk = [&](std::uint64_t index, std::size_t which) {
    if (!buffers[which]) buffers[which] = std::make_unique_for_overwrite<std::uint8_t[]>(buffer_bytes);
    return io_pool->run([reader, index, into = std::span(buffers[which].get(), buffer_bytes)]() -> FetchPiece {
      try {
        return {reader->read_chunk_into(index, into).size(), false, {}};
      } catch (const CorruptBlock& e) {
        return {0, true, e.what()};
      } catch (const std::exception& e) {
        return {0, false, e.what()};
      }
    });
  };
  const std::uint64_t chunk_size = reader->chunk_size();
  const std::uint64_t end = offset + length;
  const std::uint64_t last = (end - 1) / chunk_size;
  std::size_t current = 0;
  auto first = read_chunk(offset / chunk_size, current);
  FetchPiece chunk = co_await std::move(first);
  for (std::uint64_t index = offset / chunk_size;; ++index) {
    const std::uint64_t chunk_start = index * chunk_size;
    const std::uint64_t from = std::max(offset, chunk_start);
    const std::uint64_t to = std::min(end, chunk_start + chunk.bytes);
    if (!chunk.error.empty() || to <= from) {
      out.read_error = chunk.error.empty() ? "the block ended early" : chunk.error;
      out.corrupt = chunk.corrupt;
      co_return out;
    }
    const std::span<const std::uint8_t> bytes(buffers[current].get() + (from - chunk_start), to - from);
    if (index == last) {
      out.consumer = co_await consume_pieces(&consume, bytes, piece_bytes, &out.sent);
      co_return out;
    }
    FetchPiece next;
    auto both = read_chunk(index + 1, 1 - current) && consume_pieces(&consume, bytes, piece_bytes, &out.sent);
    std::tie(next, out.consumer) = co_await std::move(both);
    if (!out.consumer.ok()) co_return out;
    chunk = std::move(next);
    current = 1 - current;
  }
}

asio::awaitable<void> DataNode::serve_fetch(net::DataStream stream) {
  pb::FetchHeader header;
  if (!header.ParseFromString(stream.header())) {
    stream.reject(code(FetchCode::bad_request), "a fetch stream needs a FetchHeader");
    co_return;
  }
  const std::string peer = stream.peer().to_string();
  auto opening = open_block(&store_, &io_pool_, header.name(), header.version());
  OpenedBlock opened = co_await std::move(opening);
  if (!opened.reader) {
    if (opened.failure == FetchCode::corrupt) {
      log_corrupt_replica(options_.self_name, header.name(), header.version(), opened.error);
    }
    stats_.record({"fetch", header.name(), header.version(), 0, peer, opened.error});
    stream.reject(code(opened.failure), opened.error);
    co_return;
  }
  const BlockInfo info = opened.reader->info();
  const std::uint64_t offset = std::min(header.offset(), info.size);
  const std::uint64_t available = info.size - offset;
  const std::uint64_t length = header.length() == 0 ? available : std::min(header.length(), available);
  pb::FetchReply reply;
  reply.set_size(info.size);
  reply.set_checksum(info.checksum);
  reply.set_length(length);
  net::StreamStatus accepted = co_await stream.accept(reply.SerializeAsString(), length);
  if (!accepted.ok()) co_return;
  auto send = [stream, stats = &stats_](std::span<const std::uint8_t> piece) {
    return send_piece(stream, stats, piece);
  };
  auto sending = read_block_range(&io_pool_, opened.reader, offset, length, options_.piece_bytes, std::move(send));
  BlockRangeRead sent = co_await std::move(sending);
  if (!sent.read_error.empty()) {
    if (sent.corrupt) log_corrupt_replica(options_.self_name, header.name(), header.version(), sent.read_error);
    stream.cancel(code(sent.corrupt ? FetchCode::corrupt : FetchCode::disk_error), sent.read_error);
    stats_.record({"fetch", header.name(), header.version(), sent.sent, peer, sent.read_error});
    co_return;
  }
  if (!sent.consumer.ok()) {
    stats_.record({"fetch", header.name(), header.version(), sent.sent, peer, sent.consumer.describe()});
    co_return;
  }
  co_await stream.finish();
  stats_.record({"fetch", header.name(), header.version(), sent.sent, peer, "ok"});
}

void log_corrupt_replica(const std::string& self, const std::string& name, std::uint64_t version,
                         const std::string& error) {
  spdlog::warn("event=sdfs_corrupt_replica name={} version={} node={} error={}", core::log_quote(name), version, self,
               core::log_quote(error));
}

}  // namespace idunno::fs
