#include "cli/event_feed.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <set>

#include "cli/commands/text_format.hpp"
#include "core/timeout.hpp"
#include "fs/sdfs_commands.hpp"
#include "net/raft/raft_driver.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kTick{1000};
// A rates request that takes longer is given up; the next tick asks again.
constexpr std::chrono::milliseconds kRatesTimeout{2000};

}  // namespace

std::optional<json::object> sdfs_event_of(std::string_view command, std::string_view result) {
  const auto parsed = fs::parse_sdfs_command(command);
  if (!parsed || !(parsed->has_commit() || parsed->has_delete_file())) return std::nullopt;
  fs::SdfsResult outcome;
  try {
    outcome = fs::decode_sdfs_result(result);
  } catch (const raft::DecodeError&) {
    return std::nullopt;
  }
  if (!outcome.ok()) return std::nullopt;
  json::object event{{"op", parsed->has_commit() ? "put" : "delete"}, {"name", fs::command_name(*parsed)}};
  if (parsed->has_commit()) event["version"] = parsed->commit().version();
  return event;
}

std::vector<json::object> job_changes(const json::value& rates, std::map<std::string, std::string>& last) {
  std::vector<json::object> out;
  const json::object* top = rates.if_object();
  if (top == nullptr) return out;
  const std::string phase = field(*top, "phase");
  std::map<std::string, std::string> now;
  if (const json::value* jobs = top->if_contains("jobs"); jobs != nullptr && jobs->is_array()) {
    for (const auto& j : jobs->get_array()) {
      const json::object* job = j.if_object();
      if (job == nullptr) continue;
      const std::string name = field(*job, "job");
      const std::string state = field(*job, "state");
      now[name] = state + "/" + phase;
      const auto before = last.find(name);
      if (before != last.end() && before->second == now[name]) continue;
      out.push_back(json::object{{"job", name}, {"kind", field(*job, "kind")}, {"state", state}, {"phase", phase}});
    }
  }
  for (const auto& [name, was] : last) {
    if (!now.contains(name)) out.push_back(json::object{{"job", name}, {"state", "removed"}, {"phase", phase}});
  }
  last = std::move(now);
  return out;
}

EventFeed::EventFeed(asio::any_io_executor executor, net::RaftDriver& raft, CommandDispatcher& dispatcher,
                     NodeEvents& events)
    : raft_(raft),
      dispatcher_(dispatcher),
      events_(events),
      tasks_(std::make_unique<core::TaskGroup>(std::move(executor), "events")) {
  raft_.on_applied([this](const net::AppliedCommand& applied) {
    if (applied.machine != "sdfs" || !events_.wanted()) return;
    if (auto event = sdfs_event_of(applied.command, applied.result)) events_.publish("sdfs", std::move(*event));
  });
  raft_.on_leadership_change([this](bool /*leader*/, std::uint64_t /*term*/) { publish_role(); });
}

EventFeed::~EventFeed() = default;

void EventFeed::start() { tasks_->spawn(run(), "event feed"); }

asio::awaitable<void> EventFeed::stop(StopDeadline deadline) {
  tasks_->close();
  co_await tasks_->shutdown(deadline.share(4, std::chrono::milliseconds(200)));
}

void EventFeed::publish_role() {
  if (!events_.wanted()) {
    role_.reset();
    return;
  }
  const auto leader = raft_.leader();
  const std::pair<std::string, std::uint64_t> now{leader ? leader->name : std::string(),
                                                   leader ? leader->term : raft_.term()};
  if (role_ == now) return;
  role_ = now;
  events_.publish("role", json::object{{"coordinator", now.first.empty() ? json::value(nullptr) : json::value(now.first)},
                                       {"term", now.second}});
}

asio::awaitable<void> EventFeed::publish_rates() {
  net::console::CommandOutcome outcome;
  try {
    outcome = co_await core::with_timeout(dispatcher_.dispatch("job-rates", {}, CommandOrigin::console), kRatesTimeout);
  } catch (const core::TimeoutError&) {
    co_return;
  }
  // No coordinator yet (or none reachable): nothing to say this second.
  if (!outcome.ok || !events_.wanted()) co_return;
  for (auto& change : job_changes(outcome.result, jobs_)) events_.publish("job", std::move(change));
  json::object rate{{"phase", nullptr}, {"jobs", json::array{}}};
  if (const json::object* top = outcome.result.if_object()) {
    if (const json::value* phase = top->if_contains("phase")) rate["phase"] = *phase;
    if (const json::value* jobs = top->if_contains("jobs")) rate["jobs"] = *jobs;
  }
  events_.publish("rate", std::move(rate));
}

asio::awaitable<void> EventFeed::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(kTick);
    co_await timer.async_wait(asio::use_awaitable);
    if (!events_.wanted()) {
      role_.reset();
      jobs_.clear();
      continue;
    }
    publish_role();
    co_await publish_rates();
  }
}

}  // namespace idunno::cli
