#include "net/console/outgoing_queue.hpp"

#include <gtest/gtest.h>

namespace idunno::net::console {
namespace {

Frame frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

TEST(OutgoingQueue, KeepsOrderAndCountsBytes) {
  OutgoingQueue queue(10, 100);
  queue.push_reply(frame("ab"));
  EXPECT_TRUE(queue.push_event(frame("cde")));
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.bytes(), 5u);
  EXPECT_EQ(*queue.pop(), "ab");
  EXPECT_EQ(*queue.pop(), "cde");
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(OutgoingQueue, RefusesEventsBeyondTheFrameLimit) {
  OutgoingQueue queue(2, 100);
  EXPECT_TRUE(queue.push_event(frame("1")));
  EXPECT_TRUE(queue.push_event(frame("2")));
  EXPECT_FALSE(queue.push_event(frame("3")));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(OutgoingQueue, RefusesEventsBeyondTheByteLimit) {
  OutgoingQueue queue(100, 10);
  EXPECT_TRUE(queue.push_event(frame("12345678")));
  EXPECT_FALSE(queue.push_event(frame("123")));
  EXPECT_TRUE(queue.push_event(frame("12")));
}

TEST(OutgoingQueue, RepliesAreNeverRefused) {
  OutgoingQueue queue(1, 4);
  EXPECT_TRUE(queue.push_event(frame("1234")));
  queue.push_reply(frame("reply"));
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(*queue.pop(), "1234");
  EXPECT_EQ(*queue.pop(), "reply");
}

}  // namespace
}  // namespace idunno::net::console
