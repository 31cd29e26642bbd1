// The SDFS client library over data nodes on a fake network, with the
// namespace applied in place of the coordinator's log: a put is visible
// whole or not at all, a get survives dead and corrupt replicas, and reads
// fall back to the local namespace copy when no coordinator answers (once a
// linearizable read found that copy current).

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/timeout.hpp"
#include "fs/namespace.hpp"
#include "fs/placement.hpp"
#include "fs/sdfs.hpp"
#include "fs/sdfs_test_cluster.hpp"

namespace idunno::fs {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<std::string> apply_now(Namespace* ns, raft::Index index, std::string command) {
  co_return ns->apply(index, command);
}

asio::awaitable<std::string> query_now(const Namespace* ns, std::string query, bool* coordinator_down) {
  if (*coordinator_down) throw core::TimeoutError();
  co_return ns->query(query);
}

asio::awaitable<std::size_t> next_piece(std::shared_ptr<std::string> content, std::shared_ptr<std::size_t> at,
                                        std::size_t piece, std::span<std::uint8_t> buffer) {
  const std::size_t n = std::min({buffer.size(), piece, content->size() - *at});
  std::copy_n(content->data() + *at, n, reinterpret_cast<char*>(buffer.data()));
  *at += n;
  co_return n;
}

ByteSource string_source(std::shared_ptr<std::string> content, std::shared_ptr<std::size_t> at, std::size_t piece) {
  return [content, at, piece](std::span<std::uint8_t> buffer) { return next_piece(content, at, piece, buffer); };
}

asio::awaitable<void> append_to(std::shared_ptr<std::string> out, std::span<const std::uint8_t> bytes) {
  out->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  co_return;
}

ByteSink string_sink(std::shared_ptr<std::string> out) {
  return [out](std::span<const std::uint8_t> bytes) { return append_to(out, bytes); };
}

class SdfsTest : public test::DataNodeCluster {
 protected:
  void SetUp() override {
    make_cluster(6);
    SdfsCluster cluster;
    cluster.submit = [this](std::string command, std::chrono::milliseconds /*timeout*/) {
      return apply_now(&ns_, ++index_, std::move(command));
    };
    cluster.read = [this](std::string query, std::chrono::milliseconds /*timeout*/) {
      return query_now(&ns_, std::move(query), &coordinator_down_);
    };
    cluster.local = &ns_;
    cluster.members = [this] {
      std::vector<SdfsMember> out;
      for (const auto& n : nodes_) {
        if (!dead_.contains(n->name)) out.push_back({n->name, n->stream_address});
      }
      return out;
    };
    SdfsOptions options;
    options.self_name = node(5).name;
    options.piece_bytes = 20'000;
    sdfs_ = std::make_unique<Sdfs>(executor(), cluster, *node(5).stream_client, *node(5).store, pool_, node(5).stats,
                                   options);
  }

  void TearDown() override {
    sdfs_.reset();
    DataNodeCluster::TearDown();
  }

  PutResult put(const std::string& name, const std::string& content) {
    auto data = std::make_shared<std::string>(content);
    return run(sdfs_->put(string_source(data, std::make_shared<std::size_t>(0), 30'000), content.size(), name));
  }

  std::string get(const std::string& name, std::optional<std::uint64_t> version = std::nullopt, ReadRange range = {}) {
    auto out = std::make_shared<std::string>();
    run(sdfs_->get(name, version, range, string_sink(out)));
    return *out;
  }

  std::size_t index_of(const std::string& name) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->name == name) return i;
    }
    return nodes_.size();
  }

  Namespace ns_;
  raft::Index index_ = 0;
  bool coordinator_down_ = false;
  std::set<std::string> dead_;
  std::unique_ptr<Sdfs> sdfs_;
};

TEST_F(SdfsTest, APutIsStoredOnFourReplicasAndReadsBackExactly) {
  const std::string content = net::testing::pattern(700'001);
  const auto put_result = put("models/m", content);
  EXPECT_EQ(put_result.version, 1U);
  EXPECT_EQ(put_result.size, content.size());
  EXPECT_EQ(put_result.replicas.size(), 4U);
  const auto entry = ns_.latest("models/m");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->replicas, put_result.replicas);
  EXPECT_NE(entry->checksum, 0U);
  EXPECT_EQ(get("models/m"), content);
  EXPECT_EQ(get("models/m", 1, {100'000, 5}), content.substr(100'000, 5));
  EXPECT_EQ(get("models/m", std::nullopt, {699'999, std::nullopt}), content.substr(699'999));
  // A second put is the next version; the first stays readable.
  const std::string second = net::testing::pattern(1000);
  EXPECT_EQ(put("models/m", second).version, 2U);
  EXPECT_EQ(get("models/m"), second);
  EXPECT_EQ(get("models/m", 1), content);
  const auto newest = run(sdfs_->versions("models/m", 5));
  ASSERT_EQ(newest.size(), 2U);
  EXPECT_EQ(newest[0].entry.version, 2U);
}

TEST_F(SdfsTest, AnEmptyFileIsAFile) {
  EXPECT_EQ(put("empty", "").size, 0U);
  EXPECT_EQ(get("empty"), "");
}

TEST_F(SdfsTest, TooFewDurableReplicasAbortAndLeaveNothingVisible) {
  // The placement of this name's version 1 decides which disks to fill.
  std::vector<std::string> live;
  for (const auto& n : nodes_) live.push_back(n->name);
  const auto chosen = choose_replicas("full", 1, live, 4);
  for (std::size_t i = 0; i < 2; ++i) node(index_of(chosen[i])).disk.set_capacity(1000);
  const std::string content = net::testing::pattern(200'000);
  auto data = std::make_shared<std::string>(content);
  try {
    run(sdfs_->put(string_source(data, std::make_shared<std::size_t>(0), 30'000), content.size(), "full"));
    FAIL() << "the put should have failed";
  } catch (const SdfsError& e) {
    EXPECT_EQ(e.kind(), SdfsErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("write_quorum"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ns_.latest("full"));
  EXPECT_TRUE(ns_.pending().empty());
  EXPECT_THROW(run(sdfs_->stat("full")), SdfsError);
}

TEST_F(SdfsTest, APutThroughAReplicaKeepsItsOwnCopyOffTheSocketAndSurvivesItsOwnFullDisk) {
  std::vector<std::string> live;
  for (const auto& n : nodes_) live.push_back(n->name);
  // Names whose version 1 goes to the writing node among others.
  std::vector<std::string> names;
  for (int i = 0; names.size() < 2 && i < 100; ++i) {
    const std::string candidate = "mine/" + std::to_string(i);
    const auto chosen = choose_replicas(candidate, 1, live, 4);
    if (std::find(chosen.begin(), chosen.end(), node(5).name) != chosen.end()) names.push_back(candidate);
  }
  ASSERT_EQ(names.size(), 2U);
  const std::string content = net::testing::pattern(3 * test::kTestChunk + 11);
  // Its own copy is written by the put itself: no store stream to its own
  // data node (which counts the ones it serves), and the other three get
  // the bytes along the chain as before.
  const auto stored = put(names[0], content).replicas;
  EXPECT_EQ(stored.size(), 4U);
  EXPECT_TRUE(node(5).store->contains(names[0], 1));
  EXPECT_EQ(node(5).stats.count("store", "ok"), 0U);
  for (const auto& r : stored) EXPECT_TRUE(node(index_of(r)).store->contains(names[0], 1)) << r;
  EXPECT_EQ(get(names[0]), content);
  // Its own disk full: the others still take the write, which the quorum
  // of 3 acknowledges.
  node(5).disk.set_capacity(1000);
  const auto without = put(names[1], content).replicas;
  EXPECT_EQ(without.size(), 3U);
  EXPECT_EQ(std::find(without.begin(), without.end(), node(5).name), without.end());
  EXPECT_FALSE(node(5).store->contains(names[1], 1));
  EXPECT_EQ(get(names[1]), content);
}

TEST_F(SdfsTest, AShortSourceFailsThePutAndLeavesNothing) {
  auto data = std::make_shared<std::string>(net::testing::pattern(10'000));
  try {
    run(sdfs_->put(string_source(data, std::make_shared<std::size_t>(0), 3000), 20'000, "short"));
    FAIL() << "the put should have failed";
  } catch (const SdfsError& e) {
    EXPECT_EQ(e.kind(), SdfsErrorKind::failed) << e.what();
  }
  EXPECT_FALSE(ns_.latest("short"));
  for (const auto& n : nodes_) EXPECT_FALSE(n->store->contains("short", 1)) << n->name;
}

TEST_F(SdfsTest, ACancelledSourceCancelsThePutAndLeavesNothing) {
  // A source whose read is cancelled, as a local file read on the I/O pool
  // is when the put's command is cancelled: the put ends as cancelled (the
  // dispatcher says "cancelled"), not as a failure naming the cancellation.
  auto reads = std::make_shared<int>(0);
  ByteSource source = [reads](std::span<std::uint8_t> buffer) -> asio::awaitable<std::size_t> {
    if (++*reads > 2) throw boost::system::system_error(asio::error::operation_aborted);
    std::fill(buffer.begin(), buffer.end(), std::uint8_t{7});
    co_return buffer.size();
  };
  try {
    run(sdfs_->put(std::move(source), 50 * test::kTestChunk, "cancelled"));
    FAIL() << "the put should have been cancelled";
  } catch (const SdfsError& e) {
    FAIL() << "the cancellation became a failure: " << e.what();
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted) << e.what();
  }
  EXPECT_FALSE(ns_.latest("cancelled"));
  for (const auto& n : nodes_) EXPECT_FALSE(n->store->contains("cancelled", 1)) << n->name;
}

TEST_F(SdfsTest, GetFallsBackFromDeadAndCorruptReplicas) {
  const std::string content = net::testing::pattern(5 * test::kTestChunk + 3);
  const auto stored = put("data/x", content).replicas;
  ASSERT_EQ(stored.size(), 4U);
  // The first replica a reader tries holds a corrupt copy, the next is dead.
  const auto order = ns_.latest("data/x")->replicas;
  auto& bad = node(index_of(order[0]));
  const auto path = bad.store->block_path("data/x", 1);
  std::string bytes = *bad.disk.content(path);
  bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 1);
  bad.disk.put_durable(path, bytes);
  network_->crash(node(index_of(order[1])).stream_address);
  EXPECT_EQ(get("data/x"), content);
  // With three replicas gone, no reader gets a short file passed off as whole.
  dead_.insert(order[2]);
  dead_.insert(order[3]);
  EXPECT_THROW(get("data/x"), SdfsError);
}

TEST_F(SdfsTest, AReplicaReadsItsOwnCopyFromItsStoreAndFallsBackWhenItIsCorrupt) {
  // A name whose replicas include the reading node.
  const std::string content = net::testing::pattern(5 * test::kTestChunk + 3);
  std::string name;
  for (int i = 0; name.empty() && i < 50; ++i) {
    const std::string candidate = "own/" + std::to_string(i);
    const auto stored = put(candidate, content).replicas;
    if (std::find(stored.begin(), stored.end(), node(5).name) != stored.end()) name = candidate;
  }
  ASSERT_FALSE(name.empty()) << "no name was placed on " << node(5).name;
  // With every other replica dead, its own copy serves it, and from the
  // store: no fetch stream to its own data node (which counts the fetches
  // it serves), no socket between a node and its own copy.
  const auto replicas = ns_.latest(name)->replicas;
  for (const auto& r : replicas) {
    if (r != node(5).name) dead_.insert(r);
  }
  const auto fetches = node(5).stats.count("fetch", "ok");
  const auto sent = node(5).stats.bytes_out();
  EXPECT_EQ(get(name), content);
  EXPECT_EQ(get(name, std::nullopt, {test::kTestChunk - 2, 7}), content.substr(test::kTestChunk - 2, 7));
  EXPECT_EQ(node(5).stats.count("fetch", "ok"), fetches);
  EXPECT_EQ(node(5).stats.bytes_out(), sent);
  // A copy of its own that does not verify is never served: the read goes
  // to another replica, and with none left it fails.
  const auto path = node(5).store->block_path(name, 1);
  std::string bytes = *node(5).disk.content(path);
  bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 1);
  node(5).disk.put_durable(path, bytes);
  EXPECT_THROW(get(name), SdfsError);
  dead_.clear();
  EXPECT_EQ(get(name), content);
}

TEST_F(SdfsTest, ReadsUseTheLocalCopyWhenNoCoordinatorAnswersOnceItWasSeenCurrent) {
  const std::string content = net::testing::pattern(50'000);
  put("during-election", content);
  // No linearizable read has vouched for this node's copy yet (a node that
  // just restarted): no answer rather than a possibly old one.
  coordinator_down_ = true;
  try {
    get("during-election");
    FAIL() << "served a local copy not known to be current";
  } catch (const SdfsError& e) {
    EXPECT_EQ(e.kind(), SdfsErrorKind::unavailable);
  }
  coordinator_down_ = false;
  EXPECT_EQ(get("during-election"), content);
  // The copy answered as the coordinator did: it stands in during an election.
  coordinator_down_ = true;
  EXPECT_EQ(get("during-election"), content);
  EXPECT_EQ(run(sdfs_->list("during")).size(), 1U);
}

TEST_F(SdfsTest, BadNamesAndMissingFilesAreClearErrors) {
  try {
    get("nope");
    FAIL();
  } catch (const SdfsError& e) {
    EXPECT_EQ(e.kind(), SdfsErrorKind::not_found);
  }
  try {
    put(std::string("bad\0name", 8), "x");
    FAIL();
  } catch (const SdfsError& e) {
    EXPECT_EQ(e.kind(), SdfsErrorKind::bad_name);
  }
  put("gone", "bytes");
  EXPECT_EQ(run(sdfs_->remove("gone")), 1U);
  EXPECT_THROW(get("gone"), SdfsError);
  EXPECT_THROW(run(sdfs_->remove("gone")), SdfsError);
  // The counter outlives the delete.
  EXPECT_EQ(put("gone", "again").version, 2U);
}

}  // namespace
}  // namespace idunno::fs
