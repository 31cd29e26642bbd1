#pragma once
// SwimDriver: the membership service of a node. Runs the sans-I/O SWIM core
// on the event loop over a DatagramTransport (UDP) and cluster RPC.
//
// Why: the core decides, the driver only carries out. It feeds the core the
// datagrams it receives, ticks it with one steady_timer at the core's next
// deadline, runs the stream requests the core asks for (TCP fallback pings,
// push-pull exchanges, joins) as "swim.stream" RPCs and answers the same RPC
// for others, logs every membership change as an event line and hands it
// to subscribers. Every coroutine belongs to its TaskGroup.
//
// Order of use: construct before RpcServer::start() (it registers
// "swim.stream"), start(seeds); at shutdown co_await leave(linger), then
// stop() while RPC still runs. Everything on `executor` (the event loop);
// not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/task_group.hpp"
#include "net/datagram.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"
#include "net/swim/swim_config.hpp"
#include "net/swim/swim_core.hpp"

namespace idunno::swim {

// The RPC method that carries SWIM stream payloads (one request, one reply).
inline constexpr const char* swim_stream_method = "swim.stream";

class SwimDriver {
 public:
  using Subscriber = std::function<void(const MemberEvent&)>;

  // `self.start_ms` is the process start (wall clock, ms): a restarted
  // process is a new member. `seed` seeds the core's random choices.
  SwimDriver(boost::asio::any_io_executor executor, net::DatagramTransport& udp, net::RpcServer& server,
             net::RpcClient& client, SwimConfig config, MemberId self, std::uint64_t seed);
  ~SwimDriver();
  SwimDriver(const SwimDriver&) = delete;
  SwimDriver& operator=(const SwimDriver&) = delete;

  // Starts receiving and probing and joins through `seeds` (none, or only
  // itself: a new group of one that others join). Failed seeds are retried
  // (every second while alone, then every rejoin_interval).
  void start(std::vector<core::HostPort> seeds);

  // Joins (again) through the seeds given to start(), or through `seeds`
  // (which then replace them); ends an earlier leave.
  void join();
  void join(std::vector<core::HostPort> seeds);

  // Another layer heard from `addr` directly (a Raft message arrived from
  // it): if membership has no active member there, which after a healed
  // partition can last until the next re-join, exchange state with it now.
  void contact(const core::HostPort& addr);

  // Announces the departure to every live member (state `left`, not a
  // failure) and keeps the loop gossiping for `linger` so it spreads; the
  // node keeps answering pings until stop().
  boost::asio::awaitable<void> leave(std::chrono::milliseconds linger);

  // Stops every coroutine of the driver and closes the transport (bounded).
  boost::asio::awaitable<void> stop();

  // Called on the loop for every membership change, in order. A subscriber
  // that throws is logged and does not stop the others.
  void subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }

  // Every known member including this node, sorted by id.
  std::vector<Member> members() const { return core_.members(); }
  Member self() const { return core_.self(); }
  const SwimMetrics& metrics() const { return core_.metrics(); }
  int health_score() const { return core_.health_score(); }
  bool leaving() const { return core_.leaving(); }
  const std::vector<core::HostPort>& seeds() const { return seeds_; }

 private:
  boost::asio::awaitable<void> receive_loop();
  boost::asio::awaitable<void> timer_loop();
  boost::asio::awaitable<void> run_stream(StreamRequest request);
  boost::asio::awaitable<std::string> handle_stream(std::string request);
  // Carries out what the core asked for after an input, then re-arms the
  // timer.
  void drain();
  void publish(const MemberEvent& event);

  boost::asio::any_io_executor executor_;
  net::DatagramTransport& udp_;
  net::RpcClient& client_;
  core::SystemClock clock_;
  SwimCore core_;
  std::vector<core::HostPort> seeds_;
  std::vector<Subscriber> subscribers_;
  boost::asio::steady_timer timer_;
  core::TaskGroup tasks_;
  bool stopped_ = false;
};

}  // namespace idunno::swim
