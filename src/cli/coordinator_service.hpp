#pragma once
// The coordinator as a node service: the Raft driver with the replicated
// state it drives, its commands (coordinator, kv-put, kv-get), its metrics,
// and the voter set following membership. kv-put runs exactly once through
// the log; kv-get is a linearizable ReadIndex read without a log write
// (`kv-get KEY --via-log` reads through the log instead, as a baseline).
//
// Why: every node is a coordinator candidate and a hot standby; what it
// needs from below is the transport (Raft messages are RPCs) and membership
// (live members become voters). It tells membership each member's role.
// Fencing is in force here: the RPC server stamps replies with the node's
// highest known term, every reply's term reaches Raft (a newer one deposes
// this node), and the coordinator announces itself to every live member
// through the fenced "coord.announce".
//
// Stopping: stop() lets a leader hand over (while RPC still runs: the
// transport stops after it) and fails pending proposals. Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/membership_service.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/raft/kv_state_machine.hpp"
#include "net/raft/coordinator_announce.hpp"
#include "net/raft/raft_driver.hpp"

namespace idunno::cli {

// A state machine another service owns (SDFS's namespace, the job table),
// hosted on the coordinator's log under `name`. It outlives the service.
struct HostedMachine {
  std::string name;
  raft::StateMachine* machine = nullptr;
};

class CoordinatorService final : public Service {
 public:
  // Opens the Raft state in DATA_DIR/raft (throws when it is corrupt).
  // `machines` join the key-value one ("kv") behind the router.
  CoordinatorService(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                     MembershipService& membership, CommandDispatcher& dispatcher, core::MetricsRegistry& metrics,
                     std::vector<HostedMachine> machines = {});
  ~CoordinatorService() override;

  std::string_view name() const override { return "coordinator"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  net::RaftDriver& raft() { return *raft_; }

 private:
  void follow_membership();
  boost::asio::awaitable<raft::KvResult> submit_kv(std::string command);
  boost::asio::awaitable<raft::KvResult> read_kv(std::string query);

  boost::asio::awaitable<boost::json::value> coordinator(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> kv_put(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> kv_get(std::vector<std::string> args);

  MembershipService& membership_;
  // The replicated coordinator state: a router hosting its machines (the
  // key-value test machine as "kv", and the hosted ones). Declared before raft_, which
  // restores them and must go first.
  raft::KvStateMachine kv_state_;
  raft::Router router_;
  std::unique_ptr<net::RaftDriver> raft_;
  std::unique_ptr<net::CoordinatorAnnouncer> announcer_;
};

}  // namespace idunno::cli
