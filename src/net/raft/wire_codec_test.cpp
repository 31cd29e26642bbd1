// The wire form of Raft messages: every kind round-trips, and messages the
// core must never see (gaps in entries, undecodable configurations, entries
// from the future) are refused whole.

#include "net/raft/wire_codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "core/raft/codec.hpp"

namespace idunno::net {
namespace {

raft::Payload round_trip(const raft::Payload& payload) {
  raftwire::Envelope envelope;
  to_wire(payload, &envelope);
  raftwire::Envelope parsed;
  EXPECT_TRUE(parsed.ParseFromString(envelope.SerializeAsString()));
  std::string why;
  auto back = from_wire(parsed, &why);
  EXPECT_TRUE(back) << why;
  return back.value_or(raft::TimeoutNow{});
}

raft::Configuration config() {
  raft::Configuration c;
  c.voters = {{"node1", "127.0.0.1:7001"}, {"node2", "127.0.0.1:7002"}};
  c.learners = {{"node3", "127.0.0.1:7003"}};
  return c;
}

TEST(RaftWire, EveryMessageKindRoundTrips) {
  auto vote = std::get<raft::VoteRequest>(round_trip(raft::VoteRequest{7, 40, 6, true, true}));
  EXPECT_EQ(vote.term, 7u);
  EXPECT_EQ(vote.last_log_index, 40u);
  EXPECT_TRUE(vote.pre_vote && vote.transfer);
  auto reply = std::get<raft::VoteReply>(round_trip(raft::VoteReply{8, true, false}));
  EXPECT_TRUE(reply.granted);

  raft::AppendRequest append{5, 10, 4, {}, 9, 77};
  append.entries.push_back(raft::LogEntry{5, 11, raft::EntryType::command, std::string("a\0b", 3)});
  append.entries.push_back(raft::LogEntry{5, 12, raft::EntryType::config, raft::encode_configuration(config())});
  auto append_back = std::get<raft::AppendRequest>(round_trip(append));
  EXPECT_EQ(append_back.entries, append.entries);
  EXPECT_EQ(append_back.commit, 9u);
  EXPECT_EQ(append_back.read_round, 77u);

  auto append_reply = std::get<raft::AppendReply>(round_trip(raft::AppendReply{5, false, 10, 0, 3, 78}));
  EXPECT_EQ(append_reply.hint, 3u);
  EXPECT_EQ(append_reply.read_round, 78u);

  raft::SnapshotRequest snapshot{6, raft::SnapshotMeta{100, 5, config()}, 1024, "chunk", true};
  auto snapshot_back = std::get<raft::SnapshotRequest>(round_trip(snapshot));
  EXPECT_EQ(snapshot_back.meta, snapshot.meta);
  EXPECT_EQ(snapshot_back.data, "chunk");
  EXPECT_TRUE(snapshot_back.done);

  auto snapshot_reply = std::get<raft::SnapshotReply>(round_trip(raft::SnapshotReply{6, 100, 2048, false}));
  EXPECT_EQ(snapshot_reply.next_offset, 2048u);
  EXPECT_EQ(std::get<raft::TimeoutNow>(round_trip(raft::TimeoutNow{9})).term, 9u);
}

TEST(RaftWire, MalformedMessagesAreRefusedWhole) {
  std::string why;
  raftwire::Envelope empty;
  EXPECT_FALSE(from_wire(empty, &why));

  raftwire::Envelope gap;
  auto* a = gap.mutable_append_request();
  a->set_term(3);
  a->set_prev_index(4);
  a->add_entries()->set_index(5);
  a->add_entries()->set_index(7);
  EXPECT_FALSE(from_wire(gap, &why));
  EXPECT_EQ(why, "entries not contiguous");

  raftwire::Envelope future;
  auto* f = future.mutable_append_request();
  f->set_term(3);
  auto* e = f->add_entries();
  e->set_index(1);
  e->set_term(4);
  EXPECT_FALSE(from_wire(future, &why));

  raftwire::Envelope bad_config;
  auto* b = bad_config.mutable_append_request();
  b->set_term(3);
  auto* c = b->add_entries();
  c->set_index(1);
  c->set_term(3);
  c->set_type(static_cast<std::uint32_t>(raft::EntryType::config));
  c->set_data("not a configuration");
  EXPECT_FALSE(from_wire(bad_config, &why));

  raftwire::Envelope bad_type = bad_config;
  bad_type.mutable_append_request()->mutable_entries(0)->set_type(9);
  EXPECT_FALSE(from_wire(bad_type, &why));

  raftwire::Envelope twice;
  auto* s = twice.mutable_snapshot_request();
  s->set_term(2);
  auto* v1 = s->mutable_meta()->mutable_config()->add_voters();
  v1->set_name("x");
  auto* l1 = s->mutable_meta()->mutable_config()->add_learners();
  l1->set_name("x");
  EXPECT_FALSE(from_wire(twice, &why));
}

TEST(RaftWire, RandomBytesNeverReachTheCoreMalformed) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3000; ++i) {
    std::string junk(rng() % 96, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    raftwire::Envelope envelope;
    if (!envelope.ParseFromString(junk)) continue;
    std::string why;
    auto payload = from_wire(envelope, &why);
    if (auto* append = payload ? std::get_if<raft::AppendRequest>(&*payload) : nullptr) {
      for (std::size_t k = 0; k < append->entries.size(); ++k) {
        EXPECT_EQ(append->entries[k].index, append->prev_index + 1 + k);
      }
    }
  }
}

}  // namespace
}  // namespace idunno::net
