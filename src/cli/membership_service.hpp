#pragma once
// Membership (SWIM) as a node service: the driver, its commands (list_mem,
// list_self, join, leave), its metrics, and the fan-out of membership
// events to the services above and to the console's event stream.
//
// Why: membership is the lowest protocol service; consensus, storage and
// the scheduler react to its events. They subscribe here instead of
// reaching into the driver. A member's role (coordinator, standby, worker)
// is known only above it, so the coordinator service installs a role
// source that list_mem and events use.
//
// Stopping: drain() announces `left` and gossips it for a moment while the
// node still serves; stop() ends the driver. Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/node_events.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "net/swim/swim_driver.hpp"

namespace idunno::cli {

class MembershipService final : public Service {
 public:
  using Subscriber = std::function<void(const swim::MemberEvent& event)>;
  using RoleSource = std::function<std::string(const std::string& member_name)>;

  // `started_at` makes this process's member id (a restart is a new member).
  MembershipService(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                    CommandDispatcher& dispatcher, core::MetricsRegistry& metrics, NodeEvents& events,
                    std::chrono::system_clock::time_point started_at);
  ~MembershipService() override;

  std::string_view name() const override { return "membership"; }
  void start() override;
  boost::asio::awaitable<void> drain(StopDeadline deadline) override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  // Called on the loop for every membership change, after the driver's log.
  void subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }
  void set_role_source(RoleSource roles) { roles_ = std::move(roles); }

  // Every known member including this node, sorted by id.
  std::vector<swim::Member> members() const { return swim_->members(); }
  // The members that count as live (alive or suspected, swim::is_active).
  std::vector<swim::Member> active_members() const {
    auto out = members();
    std::erase_if(out, [](const swim::Member& m) { return !swim::is_active(m.state); });
    return out;
  }
  // Heard from `addr` directly: see SwimDriver::contact.
  void contact(const core::HostPort& addr) { swim_->contact(addr); }
  swim::Member self() const { return swim_->self(); }

 private:
  boost::json::object member_json(const swim::Member& member) const;
  void on_event(const swim::MemberEvent& event);
  void write_metrics(core::MetricsWriter& writer) const;

  boost::asio::awaitable<boost::json::value> list_mem(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> list_self(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> join(std::vector<std::string> args);
  boost::asio::awaitable<boost::json::value> leave(std::vector<std::string> args);

  const core::Config& config_;
  NodeEvents& events_;
  std::unique_ptr<swim::SwimDriver> swim_;
  std::vector<Subscriber> subscribers_;
  RoleSource roles_;
};

}  // namespace idunno::cli
