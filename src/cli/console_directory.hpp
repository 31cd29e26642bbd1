#pragma once
// Where every live member's console is: the `consoles` command, and the
// origins a console accepts WebSocket connections from.
//
// Why: a dashboard whose node dies should carry on from another node's
// console, so it must learn the other consoles' URLs, and those consoles
// must accept its WebSocket although the page came from a different origin
// (a console without a token otherwise refuses every origin but its own,
// which keeps other web pages out). Each node answers "console.url" with its
// own console URL; the directory asks every member once when it appears,
// forgets it when it dies or leaves, and asks again for those still unknown
// whenever `consoles` runs. Event loop only.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <string_view>

#include "cli/command_dispatcher.hpp"
#include "cli/membership_service.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/task_group.hpp"

namespace idunno::cli {

inline constexpr const char* kConsoleUrlMethod = "console.url";

// "http://HOST:PORT" of a console bound to `bound`; an unspecified bind
// host (0.0.0.0, ::) is replaced by `advertise_host`.
std::string console_url(const core::HostPort& bound, const std::string& advertise_host);
// The host of "http://HOST:PORT[/...]", without an IPv6 host's brackets.
std::string host_of_url(std::string_view url);
// Whether a client of this node (whose console is `own_url`) can use
// console `url` of the member at cluster address `member`: any URL on a
// host that is not loopback; a loopback one only when that member and this
// node's console are on this machine's loopback.
bool reachable_by_clients(const std::string& url, const core::HostPort& member, const std::string& own_url);

// "scheme://host:port" of an Origin header or URL, lower-cased, default
// ports made explicit, so that equal origins compare equal.
std::string normal_origin(std::string_view origin);

class ConsoleDirectory final : public Service {
 public:
  // `own_url` gives this node's console URL (asked once the console runs).
  ConsoleDirectory(boost::asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                   MembershipService& membership, CommandDispatcher& dispatcher, std::function<std::string()> own_url);
  ~ConsoleDirectory() override;

  std::string_view name() const override { return "console-directory"; }
  void start() override;
  boost::asio::awaitable<void> stop(StopDeadline deadline) override;

  // True when `origin` (an Origin header) is the console of a live member.
  bool trusted_origin(std::string_view origin) const;
  // The console URL of the alive member named `node` (not a suspect one),
  // once it was learned, where this node's clients can reach it: a URL on
  // a loopback host only when that member and this node's console are on
  // this machine's loopback. This node's own too.
  std::optional<std::string> url_of(const std::string& node) const;

 private:
  boost::asio::awaitable<void> learn(swim::Member member);
  boost::asio::awaitable<boost::json::value> consoles(std::vector<std::string> args);

  std::string self_;
  TransportService& transport_;
  MembershipService& membership_;
  std::function<std::string()> own_url_;
  std::unique_ptr<core::TaskGroup> tasks_;
  // Member id (name@addr#start) -> console URL, for members seen alive.
  std::map<std::string, std::string> urls_;
  std::set<std::string> asking_;  // ids being asked now
};

}  // namespace idunno::cli
