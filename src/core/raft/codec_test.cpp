// Encoding of configurations, entries and snapshot metadata: round trips,
// and malformed input refused with DecodeError instead of read past its end.

#include "core/raft/codec.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

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

// Corrupts a valid encoding: flips up to three random bytes, sometimes
// writes a small number (a plausible length or count, zero included) over
// four of them, then sometimes cuts the tail or appends junk.
std::string corrupt(std::string bytes, std::mt19937_64& rng) {
  const int flips = static_cast<int>(rng() % 4);
  for (int i = 0; i < flips && !bytes.empty(); ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
  if (rng() % 2 == 0 && bytes.size() >= 4) {
    const std::size_t at = rng() % (bytes.size() - 3);
    const auto small = static_cast<char>(rng() % 8);
    bytes.replace(at, 4, std::string{small, 0, 0, 0});
  }
  switch (rng() % 4) {
    case 0: bytes.resize(rng() % (bytes.size() + 1)); break;
    case 1: bytes.append(rng() % 8, static_cast<char>(rng())); break;
    default: break;
  }
  return bytes;
}

// Encodings of random member lists, written field by field: names drawn
// from a small set that includes the empty name, so lists hold duplicates,
// empty names and members in both sets. The decoder's answer is known
// exactly: refused when a name is empty or in both sets, otherwise the maps
// the lists describe (a duplicate keeps its first address).
TEST(RaftCodec, RandomMemberListsDecodeExactlyAsSpecified) {
  std::mt19937_64 rng(5);
  const std::vector<std::string> names{"", "a", "b", "node1", "node2"};
  int accepted = 0, refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes;
    Writer w(bytes);
    std::map<NodeName, std::string> sets[2];
    bool valid = true;
    for (auto& set : sets) {
      const auto count = static_cast<std::uint32_t>(rng() % 4);
      w.u32(count);
      for (std::uint32_t m = 0; m < count; ++m) {
        const std::string& name = names[rng() % names.size()];
        const std::string address = "10.0.0." + std::to_string(rng() % 4) + ":700" + std::to_string(m);
        w.bytes(name);
        w.bytes(address);
        valid = valid && !name.empty();
        set.emplace(name, address);
      }
    }
    for (const auto& [name, address] : sets[0]) valid = valid && !sets[1].contains(name);
    SCOPED_TRACE(::testing::Message() << "case " << i);
    if (valid) {
      ++accepted;
      const Configuration config = decode_configuration(bytes);
      EXPECT_EQ(config.voters, sets[0]);
      EXPECT_EQ(config.learners, sets[1]);
    } else {
      ++refused;
      EXPECT_THROW(decode_configuration(bytes), DecodeError);
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

// Corrupted and random input is either refused with DecodeError (nothing
// else is thrown) or decodes to a value that keeps the decoder's promises:
// a configuration that round-trips and holds no member twice, an entry whose
// encoding is exactly the bytes it was read from. Both outcomes occur, so
// the test exercises both paths.
TEST(RaftCodec, CorruptInputIsRefusedOrDecodesToWhatReencodes) {
  std::mt19937_64 rng(3);
  std::string valid_entry;
  {
    Writer w(valid_entry);
    write_entry(w, LogEntry{7, 42, EntryType::config, encode_configuration(sample_config())});
  }
  const std::string valid_config = encode_configuration(sample_config());
  int accepted_configs = 0, refused_configs = 0, accepted_entries = 0, refused_entries = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string input;
    if (i % 4 == 0) {  // plain random bytes
      input.resize(rng() % 64);
      for (auto& c : input) c = static_cast<char>(rng());
    } else {
      input = corrupt(i % 2 == 0 ? valid_config : valid_entry, rng);
    }
    SCOPED_TRACE(::testing::Message() << "case " << i << " size " << input.size());
    std::optional<Configuration> config;
    try {
      config = decode_configuration(input);
    } catch (const DecodeError&) {
      ++refused_configs;
    }
    if (config) {
      ++accepted_configs;
      EXPECT_EQ(decode_configuration(encode_configuration(*config)), *config);
      for (const auto& [name, address] : config->voters) {
        EXPECT_FALSE(name.empty());
        EXPECT_FALSE(config->learners.contains(name));
      }
      for (const auto& [name, address] : config->learners) EXPECT_FALSE(name.empty());
    }
    Reader r(input);
    std::optional<LogEntry> entry;
    try {
      entry = read_entry(r);
    } catch (const DecodeError&) {
      ++refused_entries;
    }
    if (entry) {
      ++accepted_entries;
      std::string again;
      Writer w(again);
      write_entry(w, *entry);
      EXPECT_EQ(again, input.substr(0, input.size() - r.remaining()));
    }
  }
  std::cout << "configs accepted=" << accepted_configs << " refused=" << refused_configs
            << " entries accepted=" << accepted_entries << " refused=" << refused_entries << "\n";
  EXPECT_GT(accepted_configs, 0);
  EXPECT_GT(refused_configs, 0);
  EXPECT_GT(accepted_entries, 0);
  EXPECT_GT(refused_entries, 0);
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
