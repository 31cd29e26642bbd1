#pragma once
// The SWIM failure detector proper: one probe per protocol period to the
// next member of a randomized round-robin, a direct ping, after
// probe_timeout indirect ping-reqs (answered by acks or nacks) and a TCP
// fallback ping, and at the end of the period a suspicion if nobody got an
// ack. Also answers pings and relays ping-reqs for others.
//
// Why: this is the only place that decides a member did not answer; it
// feeds Lifeguard's local health (missed nacks mean *we* are the problem)
// and the confirmation probes that make real failures fast to declare.
// Owned by SwimCore; not thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "net/swim/swim_context.hpp"
#include "net/swim/updates.hpp"

namespace idunno::swim {

class Prober {
 public:
  Prober(SwimContext& ctx, MembershipUpdates& updates) : ctx_(ctx), updates_(updates) {}

  // Schedules the first period (at a random offset, so that nodes started
  // together do not probe in lockstep). stop() cancels probing (after a leave).
  void start(core::TimePoint now);
  void stop();

  // `refute`: the packet accused us, so the ack carries our alive record.
  void on_ping(core::TimePoint now, const core::HostPort& from, std::uint32_t sender_tag, const PingMsg& ping,
               bool refute);
  void on_ack(core::TimePoint now, const AckMsg& ack);
  void on_nack(const NackMsg& nack);
  void on_ping_req(core::TimePoint now, const core::HostPort& from, const PingReqMsg& req);

  // An extra probe of a member someone else suspects (it also tells the
  // suspect: buddy system), or of a suspect about to be declared dead.
  // True when a probe of it is running afterwards (a new one or one that
  // was already running); false when this node is leaving.
  bool probe_now(core::TimePoint now, const MemberId& target);
  // A one-off ping carrying `news` about the target, whose ack is not
  // waited for (used to tell a member that we think it is dead).
  void notify(core::TimePoint now, const Member& target, const Message& news);

  // Stream results: true when `stream_id` was one of our fallback pings.
  bool on_fallback_result(std::uint64_t stream_id, bool acked);
  // The answer to a fallback ping received over a stream; nullopt when the
  // ping is not meant for us.
  std::optional<std::vector<Message>> answer_stream_ping(const PingMsg& ping);

  std::size_t running_probes() const { return probes_.size(); }

 private:
  struct Probe {
    MemberId target;
    core::TimePoint started{};
    core::TimePoint end{};
    int expected_nacks = 0;
    int nacks = 0;
    std::uint64_t fallback_stream = 0;
    core::TimerQueue::TimerId timeout_timer = 0;
    core::TimerQueue::TimerId end_timer = 0;
  };
  struct Relay {
    core::HostPort origin;
    std::uint32_t origin_seq = 0;
    core::TimerQueue::TimerId timer = 0;
  };

  void period();
  bool start_probe(core::TimePoint now, const MemberId& target);
  void on_probe_timeout(std::uint32_t seq);
  void finish(std::uint32_t seq, bool acked);
  std::vector<Message> ping_messages(std::uint32_t seq, const Member& target) const;

  SwimContext& ctx_;
  MembershipUpdates& updates_;
  std::map<std::uint32_t, Probe> probes_;
  std::map<std::uint64_t, std::uint32_t> fallback_seq_;
  std::map<std::uint32_t, Relay> relays_;
  core::TimerQueue::TimerId period_timer_ = 0;
};

}  // namespace idunno::swim
