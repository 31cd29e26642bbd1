#pragma once
// CoordinatorAnnouncer: the coordinator tells every live member, in turn,
// that it is the coordinator and of which term ("coord.announce").
//
// Why: workers are not Raft members and would otherwise learn who the
// coordinator is only by asking around ("raft.status", once a second), and
// the announce is the first fenced coordinator command: receivers admit it
// through the node's TermFence. A round spreads its sends over `interval`
// (one member every interval/N) and is one coordinator operation: it is
// stamped with the term it began in and does not re-check leadership
// between sends, like any coordinator operation that spans awaits (no local
// check could be certain; the fence is what makes a stale send harmless).
// Rounds stop starting once this node is not the coordinator. A send
// refused as stale (`event=fence_refused`) tells the RpcClient's term
// observer of the newer term, which deposes this node.
//
// Event loop only; construct before RpcServer::start() (it registers its
// method), start(), and stop() before the RPC client stops.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/task_group.hpp"
#include "net/fencing.hpp"
#include "net/raft/raft_driver.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"

namespace idunno::net {

struct AnnounceOptions {
  std::string name;           // this node's Raft name
  core::HostPort advertise;   // where others reach it
  std::chrono::milliseconds interval{500};
  std::chrono::milliseconds deadline{300};  // per send
};

class CoordinatorAnnouncer {
 public:
  CoordinatorAnnouncer(boost::asio::any_io_executor executor, RpcServer& server, RpcClient& client, TermFence& fence,
                       RaftDriver& raft, AnnounceOptions options);
  ~CoordinatorAnnouncer();
  CoordinatorAnnouncer(const CoordinatorAnnouncer&) = delete;
  CoordinatorAnnouncer& operator=(const CoordinatorAnnouncer&) = delete;

  void start();
  boost::asio::awaitable<void> stop();

  // Membership's live view: whom rounds go to.
  void set_members(const std::vector<LiveNode>& live);

 private:
  boost::asio::awaitable<void> rounds();
  boost::asio::awaitable<void> send(LiveNode to, std::uint64_t term);

  boost::asio::any_io_executor executor_;
  RpcClient& client_;
  RaftDriver& raft_;
  AnnounceOptions options_;
  std::vector<LiveNode> members_;
  std::set<std::string> in_flight_;
  core::TaskGroup tasks_;
  bool stopping_ = false;
};

}  // namespace idunno::net
