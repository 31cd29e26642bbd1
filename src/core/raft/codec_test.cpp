// Encoding of configurations, entries and snapshot metadata: round trips,
// and malformed input refused with DecodeError instead of read past its end.

#include "core/raft/codec.hpp"

#include <gtest/gtest.h>

#include <random>

namespace idunno::raft {
namespace {

Configuration sample_config() {
  Configuration c;
  c.voters = {{"node1", "127.0.0.1:7001"}, {"node2", "127.0.0.1:7002"}};
  c.learners = {{"node3", "127.0.0.1:7003"}};
  return c;
}

TEST(RaftCodec, ConfigurationRoundTrips) {
  EXPECT_EQ(decode_configuration(encode_configuration(sample_config())), sample_config());
  EXPECT_EQ(decode_configuration(encode_configuration({})), Configuration{});
}

TEST(RaftCodec, EntryAndSnapshotMetaRoundTrip) {
  std::string out;
  Writer w(out);
  LogEntry entry{7, 42, EntryType::config, encode_configuration(sample_config())};
  SnapshotMeta meta{40, 6, sample_config()};
  write_entry(w, entry);
  write_snapshot_meta(w, meta);
  Reader r(out);
  EXPECT_EQ(read_entry(r), entry);
  EXPECT_EQ(read_snapshot_meta(r), meta);
  EXPECT_TRUE(r.done());
}

TEST(RaftCodec, EveryTruncationIsRefused) {
  const auto bytes = encode_configuration(sample_config());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(decode_configuration(bytes.substr(0, n)), DecodeError) << n;
  }
  EXPECT_THROW(decode_configuration(bytes + "x"), DecodeError);
}

TEST(RaftCodec, RandomBytesNeverCrash) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    try {
      decode_configuration(junk);
    } catch (const DecodeError&) {
    }
    try {
      Reader r(junk);
      read_entry(r);
    } catch (const DecodeError&) {
    }
  }
}

TEST(RaftCodec, MemberInBothSetsIsRefused) {
  Configuration c;
  c.voters = {{"a", ""}};
  c.learners = {{"a", ""}};
  EXPECT_THROW(decode_configuration(encode_configuration(c)), DecodeError);
}

TEST(RaftCodec, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

}  // namespace
}  // namespace idunno::raft
