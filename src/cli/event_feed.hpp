#pragma once
// The node's live events beyond membership: who coordinates (role), each
// job's state changes (job), every job's rate and progress once a second
// (rate), and SDFS puts and deletes (sdfs), published on NodeEvents for the
// console's `subscribe events` (CONTRACT.md).
//
// Why: the dashboard and any other watcher should see the cluster change
// without polling every command. Rates and job states come from the same
// `job-rates` command a user runs (forwarded to the coordinator), so every
// node can publish them, voter or not; SDFS changes come from the namespace
// commands this node applies (voters; a node outside the Raft group has no
// sdfs events). Nothing is asked or built while no one is subscribed.
// Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/command_dispatcher.hpp"
#include "cli/node_events.hpp"
#include "cli/service.hpp"
#include "core/task_group.hpp"

namespace idunno::net {
class RaftDriver;
}

namespace idunno::cli {

// What one applied SDFS command changed for a watcher, if anything: a
// committed put or a delete (CONTRACT.md's sdfs event fields).
std::optional<boost::json::object> sdfs_event_of(std::string_view command, std::string_view result);

// Job events for every job whose state or phase differs from `last` (jobs
// that vanished are reported as "removed"); `last` becomes the current.
// `rates` is a job-rates result.
std::vector<boost::json::object> job_changes(const boost::json::value& rates,
                                             std::map<std::string, std::string>& last);

class EventFeed final : public Service {
 public:
  // Observes `raft` (before it starts) and asks `dispatcher` for job-rates.
  EventFeed(boost::asio::any_io_executor executor, net::RaftDriver& raft, CommandDispatcher& dispatcher,
            NodeEvents& events);
  ~EventFeed() override;

  std::string_view name() const override { return "events"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

 private:
  boost::asio::awaitable<void> run();
  void publish_role();
  boost::asio::awaitable<void> publish_rates();

  net::RaftDriver& raft_;
  CommandDispatcher& dispatcher_;
  NodeEvents& events_;
  std::unique_ptr<core::TaskGroup> tasks_;
  // Last published: the coordinator and its term, and each job's
  // "state/phase"; forgotten while no one listens, so a new subscriber
  // starts with the current picture.
  std::optional<std::pair<std::string, std::uint64_t>> role_;
  std::map<std::string, std::string> jobs_;
};

}  // namespace idunno::cli
