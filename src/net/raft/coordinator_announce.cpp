#include "net/raft/coordinator_announce.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/raft/raft_wire.pb.h"
#include "net/rpc.hpp"

namespace idunno::net {

namespace asio = boost::asio;

namespace {

constexpr const char* kMethod = "coord.announce";

asio::awaitable<void> pause(asio::any_io_executor executor, std::chrono::milliseconds duration) {
  asio::steady_timer timer(executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// A fenced request's term is already admitted; the announce must name the
// same term, and then tells Raft who leads.
asio::awaitable<raftwire::AnnounceReply> admit_announce(RaftDriver* raft, RpcContext context,
                                                        raftwire::Announce announce) {
  auto address = core::parse_host_port(announce.leader_address());
  if (announce.term() != context.term || !address || announce.leader_name().empty()) {
    throw RpcError("malformed announce from " + context.peer.to_string());
  }
  raft->learn_leader(LeaderInfo{announce.leader_name(), *address, announce.term()});
  co_return raftwire::AnnounceReply{};
}

}  // namespace

CoordinatorAnnouncer::CoordinatorAnnouncer(asio::any_io_executor executor, RpcServer& server, RpcClient& client,
                                           TermFence& fence, RaftDriver& raft, AnnounceOptions options)
    : executor_(executor), client_(client), raft_(raft), options_(std::move(options)), tasks_(executor, "announce") {
  auto admit = [raft = &raft_](const RpcContext& context, raftwire::Announce announce) {
    return admit_announce(raft, context, std::move(announce));
  };
  server.handle(kMethod, fence.guard(typed_handler<raftwire::Announce, raftwire::AnnounceReply>(std::move(admit))));
}

CoordinatorAnnouncer::~CoordinatorAnnouncer() { tasks_.cancel(asio::cancellation_type::terminal); }

void CoordinatorAnnouncer::start() { tasks_.spawn(rounds(), "announce rounds"); }

asio::awaitable<void> CoordinatorAnnouncer::stop() {
  stopping_ = true;
  co_await tasks_.shutdown(options_.deadline);
}

void CoordinatorAnnouncer::set_members(const std::vector<LiveNode>& live) {
  members_.clear();
  for (const auto& node : live) {
    if (node.name != options_.name) members_.push_back(node);
  }
}

asio::awaitable<void> CoordinatorAnnouncer::rounds() {
  while (!stopping_) {
    const std::vector<LiveNode> targets = members_;
    const std::uint64_t term = raft_.term();
    if (raft_.role() != NodeRole::coordinator || targets.empty()) {
      co_await pause(executor_, options_.interval);
      continue;
    }
    const auto spacing = options_.interval / static_cast<int>(targets.size());
    for (const auto& target : targets) {
      co_await pause(executor_, spacing);
      if (stopping_) co_return;
      // One send per member at a time: a member that does not answer
      // within the deadline is skipped until it does.
      if (in_flight_.insert(target.name).second) tasks_.spawn(send(target, term), "announce");
    }
  }
}

asio::awaitable<void> CoordinatorAnnouncer::send(LiveNode to, std::uint64_t term) {
  raftwire::Announce announce;
  announce.set_leader_name(options_.name);
  announce.set_leader_address(options_.advertise.to_string());
  announce.set_term(term);
  try {
    co_await call_typed<raftwire::AnnounceReply>(client_, to.address, kMethod, announce, options_.deadline, term);
  } catch (const RpcError& e) {
    if (e.code() == RpcErrorCode::stale_term) {
      spdlog::warn("event=fence_refused method={} peer={} term={} highest={}", kMethod, to.name, term, e.term());
    } else {
      spdlog::debug("event=announce_failed peer={} error={}", to.name, e.what());
    }
  }
  in_flight_.erase(to.name);
}

}  // namespace idunno::net
