// The SDFS data service: a store chain writes every replica and survives a
// dead node and a full disk in the middle; fetch serves exact ranges and
// refuses a corrupt replica; replicate copies a version only when it
// verifies; drop removes blocks.

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <span>
#include <string>

#include "fs/block_store_test_util.hpp"
#include "fs/data_node.hpp"
#include "fs/sdfs_test_cluster.hpp"

namespace idunno::fs {
namespace {

namespace asio = boost::asio;
using test::DataNodeCluster;

struct StoreOutcome {
  pb::StoreAck ack;
  std::vector<pb::NodeError> skipped;
  net::StreamStatus status;
};

// Streams `content` along `chain` as a put does: the checksum travels in
// the trailer; then reads the ack.
asio::awaitable<StoreOutcome> store_version(net::DataStreamClient* client, std::vector<ChainNode> chain,
                                            std::string name, std::uint64_t version, std::string content) {
  StoreOutcome out;
  net::DataStream stream =
      co_await open_store_chain(*client, name, version, content.size(), 0, std::move(chain), &out.skipped);
  if (!stream.valid()) co_return out;
  if (!stream.status().ok()) {
    out.status = stream.status();
    co_return out;
  }
  pb::StoreEnd end;
  end.set_checksum(XXH3_64bits(content.data(), content.size()));
  out.status = co_await net::testing::send_all(stream, content, end.SerializeAsString(), 50'000);
  if (!out.status.ok()) co_return out;
  net::testing::Received got = co_await net::testing::read_to_end(stream);
  out.status = got.status;
  if (got.ended) out.ack.ParseFromString(stream.trailer());
  co_return out;
}

std::set<std::string> stored(const pb::StoreAck& ack) { return {ack.stored().begin(), ack.stored().end()}; }

std::string errors_of(const pb::StoreAck& ack, const std::string& node) {
  std::string out;
  for (const auto& e : ack.errors()) {
    if (e.node() == node) out += e.error() + ";";
  }
  return out;
}

std::string block_content(BlockStore& store, const std::string& name, std::uint64_t version) {
  auto bytes = test::read_all(store, name, version);
  return {bytes.begin(), bytes.end()};
}

class DataNodeTest : public DataNodeCluster {
 protected:
  void SetUp() override { make_cluster(5); }

  StoreOutcome store(std::vector<std::size_t> replicas, const std::string& name, std::uint64_t version,
                     const std::string& content) {
    return run(store_version(node(4).stream_client.get(), chain(replicas), name, version, content));
  }
};

TEST_F(DataNodeTest, AChainStoresTheVersionOnEveryNode) {
  const std::string content = net::testing::pattern(3 * test::kTestChunk + 12345);
  const auto out = store({0, 1, 2, 3}, "data/a", 1, content);
  ASSERT_TRUE(out.status.ok()) << out.status.describe();
  EXPECT_EQ(stored(out.ack), (std::set<std::string>{"node1", "node2", "node3", "node4"}));
  EXPECT_EQ(out.ack.errors_size(), 0);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(block_content(*node(i).store, "data/a", 1), content) << i;
  // The sender paid for one copy: node1 forwarded to node2 and so on.
  EXPECT_EQ(node(0).stats.bytes_in(), content.size());
  EXPECT_EQ(node(0).stats.bytes_out(), content.size());
  EXPECT_EQ(node(3).stats.bytes_out(), 0U);
  EXPECT_EQ(node(2).stats.count("store", "ok"), 1U);
}

TEST_F(DataNodeTest, ADeadMiddleNodeIsSkippedAndReported) {
  network_->crash(node(1).stream_address);
  const std::string content = net::testing::pattern(200'000);
  const auto out = store({0, 1, 2, 3}, "dead-middle", 2, content);
  ASSERT_TRUE(out.status.ok()) << out.status.describe();
  EXPECT_EQ(stored(out.ack), (std::set<std::string>{"node1", "node3", "node4"}));
  EXPECT_NE(errors_of(out.ack, "node2"), "");
  EXPECT_EQ(block_content(*node(3).store, "dead-middle", 2), content);
}

TEST_F(DataNodeTest, ADeadFirstNodeIsSkippedByTheSender) {
  network_->crash(node(0).stream_address);
  const std::string content = net::testing::pattern(70'000);
  const auto out = store({0, 1, 2}, "dead-first", 1, content);
  ASSERT_TRUE(out.status.ok()) << out.status.describe();
  EXPECT_EQ(stored(out.ack), (std::set<std::string>{"node2", "node3"}));
  ASSERT_EQ(out.skipped.size(), 1U);
  EXPECT_EQ(out.skipped[0].node(), "node1");
}

TEST_F(DataNodeTest, AFullDiskInTheChainForwardsAndReportsNoSpace) {
  node(1).disk.set_capacity(10'000);
  const std::string content = net::testing::pattern(300'000);
  const auto out = store({0, 1, 2, 3}, "full", 1, content);
  ASSERT_TRUE(out.status.ok()) << out.status.describe();
  EXPECT_EQ(stored(out.ack), (std::set<std::string>{"node1", "node3", "node4"}));
  const std::string error = errors_of(out.ack, "node2");
  EXPECT_NE(error.find("space"), std::string::npos) << error;
  EXPECT_FALSE(node(1).store->contains("full", 1));
  EXPECT_EQ(node(1).store->clear_temporaries(), 0U);  // nothing left behind
}

TEST_F(DataNodeTest, AWrongChecksumStoresNothing) {
  const std::string content = net::testing::pattern(100'000);
  auto wrong = [&]() -> asio::awaitable<StoreOutcome> {
    StoreOutcome out;
    std::vector<ChainNode> nodes = chain({0, 1});
    net::DataStream stream =
        co_await open_store_chain(*node(4).stream_client, "bad-sum", 1, content.size(), 0, nodes, &out.skipped);
    pb::StoreEnd end;
    end.set_checksum(12345);
    out.status = co_await net::testing::send_all(stream, content, end.SerializeAsString());
    net::testing::Received got = co_await net::testing::read_to_end(stream);
    if (got.ended) out.ack.ParseFromString(stream.trailer());
    co_return out;
  };
  const auto out = run(wrong);
  EXPECT_EQ(out.ack.stored_size(), 0);
  EXPECT_NE(errors_of(out.ack, "node1").find("checksum"), std::string::npos);
  EXPECT_FALSE(node(0).store->contains("bad-sum", 1));
  EXPECT_FALSE(node(1).store->contains("bad-sum", 1));
}

TEST_F(DataNodeTest, ASenderThatDiesMidStreamLeavesNoBlock) {
  const std::string content = net::testing::pattern(400'000);
  auto partial = [&]() -> asio::awaitable<void> {
    std::vector<pb::NodeError> skipped;
    std::vector<ChainNode> nodes = chain({0, 1});
    net::DataStream stream =
        co_await open_store_chain(*node(4).stream_client, "half", 1, content.size(), 0, nodes, &skipped);
    co_await stream.write(net::testing::bytes_of(content).first(100'000));
    stream.cancel(static_cast<std::uint32_t>(net::StreamWireCode::cancelled), "client died");
  };
  run(partial);
  ASSERT_TRUE(run_until(
      [&] { return node(0).stats.count("store", "error") == 1 && node(1).stats.count("store", "error") == 1; }));
  EXPECT_FALSE(node(0).store->contains("half", 1));
  EXPECT_FALSE(node(1).store->contains("half", 1));
}

asio::awaitable<net::testing::Received> fetch(net::DataStreamClient* client, core::HostPort from, std::string name,
                                              std::uint64_t version, std::uint64_t offset, std::uint64_t length) {
  pb::FetchHeader header;
  header.set_name(name);
  header.set_version(version);
  header.set_offset(offset);
  header.set_length(length);
  net::DataStream stream = co_await client->open(from, kFetchMethod, header.SerializeAsString());
  if (!stream.status().ok()) co_return net::testing::Received{{}, stream.status(), false};
  co_return co_await net::testing::read_to_end(stream);
}

TEST_F(DataNodeTest, FetchServesExactRanges) {
  const std::string content = net::testing::pattern(5 * test::kTestChunk + 77);
  ASSERT_EQ(stored(store({0}, "ranges", 3, content).ack).size(), 1U);
  const auto whole = run(fetch(node(4).stream_client.get(), node(0).stream_address, "ranges", 3, 0, 0));
  ASSERT_TRUE(whole.ended) << whole.status.describe();
  EXPECT_EQ(whole.bytes, content);
  const auto middle =
      run(fetch(node(4).stream_client.get(), node(0).stream_address, "ranges", 3, test::kTestChunk - 10, 100'000));
  ASSERT_TRUE(middle.ended);
  EXPECT_EQ(middle.bytes, content.substr(test::kTestChunk - 10, 100'000));
  const auto missing = run(fetch(node(4).stream_client.get(), node(0).stream_address, "ranges", 9, 0, 0));
  EXPECT_EQ(missing.status.code, net::StreamCode::rejected);
  EXPECT_EQ(missing.status.peer_code, static_cast<std::uint32_t>(FetchCode::not_found));
}

// What a consumer of read_block_range took.
struct Taken {
  std::string bytes;
  std::size_t pieces = 0;
  std::size_t largest = 0;
  std::size_t refuse_after = SIZE_MAX;  // refuses the piece after this many bytes
};

asio::awaitable<net::StreamStatus> answer(net::StreamStatus status) { co_return status; }

PieceConsumer taking(Taken* taken) {
  return [taken](std::span<const std::uint8_t> piece) {
    if (taken->bytes.size() >= taken->refuse_after) {
      return answer(net::StreamStatus::failure(net::StreamCode::cancelled_locally, "the test refuses"));
    }
    taken->bytes.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    ++taken->pieces;
    taken->largest = std::max(taken->largest, piece.size());
    return answer({});
  };
}

TEST_F(DataNodeTest, ARangeReadReadsEachChunkItCoversOnceAndHandsOutPiecesOfAtMostPieceBytes) {
  constexpr std::uint32_t kChunk = 1000;
  constexpr std::size_t kPiece = 300;
  core::FakeDisk fake;
  test::CountingDisk disk(fake);
  BlockStore store(disk, "/ranges", kChunk);
  const std::string content = net::testing::pattern(5 * kChunk + 77);
  test::write_block(store, "r", 1, std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
  const std::shared_ptr<BlockReader> reader(store.open("r", 1));
  struct Case {
    std::uint64_t offset, length;
  };
  for (const Case c : {Case{0, content.size()}, Case{kChunk - 10, 20}, Case{2 * kChunk, kChunk},
                       Case{2 * kChunk + 1, kChunk - 2}, Case{5 * kChunk + 70, 7}, Case{10, 0}}) {
    disk.reset_counts();
    Taken taken;
    const auto read = run(read_block_range(&pool_, reader, c.offset, c.length, kPiece, taking(&taken)));
    EXPECT_TRUE(read.read_error.empty()) << read.read_error;
    EXPECT_TRUE(read.consumer.ok());
    EXPECT_EQ(read.sent, c.length);
    EXPECT_EQ(taken.bytes, content.substr(c.offset, c.length)) << "offset " << c.offset;
    EXPECT_LE(taken.largest, kPiece);
    // Each chunk the range covers read (and hashed) once, nothing else.
    std::uint64_t expected = 0;
    for (std::uint64_t i = c.offset / kChunk; c.length > 0 && i <= (c.offset + c.length - 1) / kChunk; ++i) {
      expected += std::min<std::uint64_t>(kChunk, content.size() - (i * kChunk)) + kChunkChecksumBytes;
    }
    EXPECT_EQ(disk.bytes_read(), expected) << "offset " << c.offset;
  }

  // A consumer that refuses a piece stops the read there.
  Taken refusing;
  refusing.refuse_after = 2 * kPiece;
  const auto refused = run(read_block_range(&pool_, reader, 0, content.size(), kPiece, taking(&refusing)));
  EXPECT_FALSE(refused.consumer.ok());
  EXPECT_EQ(refused.sent, 2 * kPiece);
  EXPECT_EQ(refusing.bytes, content.substr(0, 2 * kPiece));

  // A chunk that does not verify ends the read after the chunks before it.
  const auto path = store.block_path("r", 1);
  std::string bytes = *fake.content(path);
  const std::size_t chunks_start = bytes.size() - kFooterBytes - content.size() - (6 * kChunkChecksumBytes);
  const std::size_t third_chunk = chunks_start + (2 * (kChunk + kChunkChecksumBytes));
  bytes[third_chunk + 5] = static_cast<char>(bytes[third_chunk + 5] ^ 0x5a);
  fake.put_durable(path, bytes);
  const std::shared_ptr<BlockReader> rotten(store.open("r", 1));
  Taken before;
  const auto bad = run(read_block_range(&pool_, rotten, 500, content.size() - 500, kPiece, taking(&before)));
  EXPECT_TRUE(bad.corrupt);
  EXPECT_NE(bad.read_error.find("checksum"), std::string::npos) << bad.read_error;
  EXPECT_EQ(bad.sent, 2 * kChunk - 500);
  EXPECT_EQ(before.bytes, content.substr(500, 2 * kChunk - 500));
}

TEST_F(DataNodeTest, ACorruptReplicaIsNeverServed) {
  const std::string content = net::testing::pattern(3 * test::kTestChunk);
  ASSERT_EQ(stored(store({0}, "rot", 1, content).ack).size(), 1U);
  const auto path = node(0).store->block_path("rot", 1);
  std::string bytes = *node(0).disk.content(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  node(0).disk.put_durable(path, bytes);
  const auto got = run(fetch(node(4).stream_client.get(), node(0).stream_address, "rot", 1, 0, 0));
  EXPECT_FALSE(got.ended);
  EXPECT_EQ(got.status.peer_code, static_cast<std::uint32_t>(FetchCode::corrupt)) << got.status.describe();
  // What came before the bad chunk verified; nothing after it was sent.
  EXPECT_LT(got.bytes.size(), content.size());
  EXPECT_EQ(got.bytes, content.substr(0, got.bytes.size()));
}

TEST_F(DataNodeTest, ReplicateCopiesAVerifiedVersionAndDropRemovesIt) {
  const std::string content = net::testing::pattern(250'000);
  ASSERT_EQ(stored(store({0}, "copy", 4, content).ack).size(), 1U);
  const std::uint64_t checksum = XXH3_64bits(content.data(), content.size());
  ReplicaSource what{"copy", 4, content.size(), checksum, node(0).stream_address};
  const auto done = run(replicate(*node(4).rpc_client, node(2).rpc_address, what, std::chrono::seconds(10)));
  ASSERT_TRUE(done.ok) << done.error;
  EXPECT_EQ(block_content(*node(2).store, "copy", 4), content);

  ReplicaSource wrong = what;
  wrong.checksum = checksum + 1;
  const auto refused = run(replicate(*node(4).rpc_client, node(3).rpc_address, wrong, std::chrono::seconds(10)));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("checksum"), std::string::npos) << refused.error;
  EXPECT_FALSE(node(3).store->contains("copy", 4));

  ReplicaSource absent = what;
  absent.version = 5;
  const auto missing = run(replicate(*node(4).rpc_client, node(3).rpc_address, absent, std::chrono::seconds(10)));
  EXPECT_FALSE(missing.ok);

  const auto dropped = run(drop(*node(4).rpc_client, node(2).rpc_address, "copy", {4, 7}, std::chrono::seconds(5)));
  EXPECT_TRUE(dropped.ok) << dropped.error;
  EXPECT_FALSE(node(2).store->contains("copy", 4));

  network_->crash(node(3).rpc_address);
  const auto unreachable = run(replicate(*node(4).rpc_client, node(3).rpc_address, what, std::chrono::seconds(2)));
  EXPECT_FALSE(unreachable.ok);
  EXPECT_FALSE(unreachable.error.empty());
}

}  // namespace
}  // namespace idunno::fs
