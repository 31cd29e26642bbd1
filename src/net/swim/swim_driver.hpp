#pragma once
// SwimDriver: runs this node's SWIM core on the event loop over UDP and RPC.
//
// Why: the core is sans-I/O. The driver feeds it datagrams from the
// DatagramTransport, runs the stream requests it asks for (TCP fallback
// pings, push-pull, joins) as "swim.stream" RPCs, answers the same RPC for
// others, ticks it with one timer, logs membership changes as events and
// hands them to subscribers. Every coroutine belongs to its TaskGroup.
//
// Order: construct before RpcServer::start() (it registers "swim.stream"),
// start(seeds), and at shutdown co_await leave() then stop() while RPC still
// runs. Everything on `executor` (the event loop); not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "core/task_group.hpp"
#include "net/datagram.hpp"
#include "net/rpc_client.hpp"
#include "net/rpc_server.hpp"
#include "net/swim/swim_config.hpp"
#include "net/swim/swim_core.hpp"

namespace idunno::swim {

class SwimDriver {
 public:
  using Subscriber = std::function<void(const MemberEvent&)>;

  SwimDriver(boost::asio::any_io_executor executor, net::DatagramTransport& udp, net::RpcServer& server,
             net::RpcClient& client, SwimConfig config, MemberId self, std::uint64_t seed);
  ~SwimDriver();
  SwimDriver(const SwimDriver&) = delete;
  SwimDriver& operator=(const SwimDriver&) = delete;

  // Starts receiving and probing, and joins through `seeds` (none: a new
  // group of one that others join).
  void start(std::vector<core::HostPort> seeds);

  // Joins (again) through the seeds; ends an earlier leave.
  void join();

  // Announces the departure and keeps gossiping for `linger` so it spreads.
  boost::asio::awaitable<void> leave(std::chrono::milliseconds linger);

  // Stops every coroutine of the driver (bounded).
  boost::asio::awaitable<void> stop();

  // Called on the loop for every membership change, in order.
  void subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }

  std::vector<Member> members() const { return core_.members(); }
  Member self() const { return core_.self(); }
  const SwimMetrics& metrics() const { return core_.metrics(); }
  int health_score() const { return core_.health_score(); }
  bool leaving() const { return core_.leaving(); }

 private:
  boost::asio::awaitable<void> receive_loop();
  boost::asio::awaitable<void> timer_loop();
  boost::asio::awaitable<void> run_stream(StreamRequest request);
  // Carries out what the core asked for after an input, then re-arms the timer.
  void drain();

  boost::asio::any_io_executor executor_;
  net::DatagramTransport& udp_;
  net::RpcClient& client_;
  core::SystemClock clock_;
  SwimCore core_;
  std::vector<core::HostPort> seeds_;
  std::vector<Subscriber> subscribers_;
  boost::asio::steady_timer timer_;
  core::TaskGroup tasks_;
};

}  // namespace idunno::swim
