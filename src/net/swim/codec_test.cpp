// Wire format: round trips, compact idle messages, and refusal of bad input.

#include "net/swim/codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "net/swim/bytes.hpp"

namespace idunno::swim {
namespace {

MemberId sample_id() { return MemberId{"node1", {"127.0.0.1", 7001}, 1700000000123}; }

std::vector<Message> every_message() {
  return {PingMsg{7, 0xdeadbeef},
          AckMsg{7},
          PingReqMsg{9, 42, {"127.0.0.1", 7002}},
          NackMsg{9},
          AliveMsg{sample_id(), 3},
          SuspectMsg{sample_id(), 4, 77},
          DeadMsg{sample_id(), 5, 78},
          LeftMsg{sample_id(), 6},
          PushPullMsg{true, sample_id()}};
}

TEST(Codec, RoundTripsEveryMessageInOneBody) {
  std::string body;
  for (const auto& m : every_message()) encode(body, m);
  auto decoded = decode_body(as_bytes(body));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, every_message());
}

TEST(Codec, IdleMessagesAreSmall) {
  EXPECT_LE(encode_one(PingMsg{100000, 0xffffffff}).size(), 8u);
  EXPECT_LE(encode_one(AckMsg{100000}).size(), 4u);
}

TEST(Codec, RejectsEveryTruncation) {
  std::string body;
  for (const auto& m : every_message()) encode(body, m);
  // Cutting inside the last message must fail; cutting at a message
  // boundary yields a shorter valid body.
  const std::size_t last = encode_one(every_message().back()).size();
  for (std::size_t cut = body.size() - last + 1; cut < body.size(); ++cut) {
    EXPECT_FALSE(decode_body(as_bytes(std::string_view(body).substr(0, cut)))) << "cut at " << cut;
  }
  EXPECT_FALSE(decode_body(as_bytes("")));
}

TEST(Codec, RejectsUnknownTypesAndBadFields) {
  EXPECT_FALSE(decode_body(as_bytes(std::string("\x7f\x01", 2))));
  // Over-long varint.
  EXPECT_FALSE(decode_body(as_bytes(std::string("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12))));
  // Seq beyond 32 bits.
  EXPECT_FALSE(decode_body(as_bytes(std::string("\x02\xff\xff\xff\xff\x1f", 6))));
  // Alive with a string length past the end.
  EXPECT_FALSE(decode_body(as_bytes(std::string("\x05\x50node1", 7))));
  // Member with port 0.
  std::string bad;
  encode(bad, AliveMsg{MemberId{"n", {"h", 0}, 1}, 1});
  EXPECT_FALSE(decode_body(as_bytes(bad)));
}

TEST(Codec, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(1234);
  std::string body;
  for (const auto& m : every_message()) encode(body, m);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = body;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    mutated.resize(rng() % (mutated.size() + 1));
    if (decode_body(as_bytes(mutated))) ++accepted;
  }
  // Some mutations stay valid (e.g. in a name); most do not.
  EXPECT_LT(accepted, 20000);
}

TEST(Codec, StateMessageFollowsTheState) {
  Member m{sample_id(), MemberState::suspect, 9, {}};
  EXPECT_TRUE(std::holds_alternative<SuspectMsg>(state_message(m, 1)));
  m.state = MemberState::left;
  EXPECT_EQ(std::get<LeftMsg>(state_message(m, 1)).incarnation, 9u);
}

}  // namespace
}  // namespace idunno::swim
