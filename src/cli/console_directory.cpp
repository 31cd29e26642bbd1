#include "cli/console_directory.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "core/logging.hpp"
#include "net/console/http_access.hpp"
#include "net/rpc.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kAskTimeout{1500};

asio::awaitable<std::string> answer(std::string url) { co_return url; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string host_of_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  const std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  return net::console::host_of(rest.substr(0, rest.find('/')));  // as of a Host header
}

bool reachable_by_clients(const std::string& url, const core::HostPort& member, const std::string& own_url) {
  // A console on a loopback address answers only on its own machine. It
  // is reachable when that member runs on this machine (its cluster
  // address is loopback too) and so do this node's clients (its own
  // console is on loopback): a client elsewhere would reach its own
  // machine instead, and hand it the token.
  if (!core::is_loopback_host(host_of_url(url))) return true;
  return core::is_loopback_host(member.host) && core::is_loopback_host(host_of_url(own_url));
}

std::string console_url(const core::HostPort& bound, const std::string& advertise_host) {
  std::string host = bound.host;
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") host = advertise_host;
  if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound.port);
}

std::string normal_origin(std::string_view origin) {
  std::string text = lower(origin);
  while (!text.empty() && text.back() == '/') text.pop_back();
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  const std::string scheme = text.substr(0, scheme_end);
  const std::string rest = text.substr(scheme_end + 3);
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  if (has_port) return text;
  return text + (scheme == "https" ? ":443" : ":80");
}

ConsoleDirectory::ConsoleDirectory(asio::any_io_executor executor, const core::Config& config,
                                   TransportService& transport, MembershipService& membership,
                                   CommandDispatcher& dispatcher, std::function<std::string()> own_url)
    : self_(config.node_name()),
      transport_(transport),
      membership_(membership),
      own_url_(std::move(own_url)),
      tasks_(std::make_unique<core::TaskGroup>(std::move(executor), "console-directory")) {
  transport_.rpc_server().handle(kConsoleUrlMethod,
                                 [this](const net::RpcContext& /*context*/, std::string /*request*/) {
                                   return answer(own_url_());
                                 });
  membership_.subscribe([this](const swim::MemberEvent& event) {
    const std::string id = event.member.id.to_string();
    if (swim::is_active(event.member.state)) {
      if (!urls_.contains(id)) tasks_->spawn(learn(event.member), "learn console");
    } else {
      urls_.erase(id);
    }
  });
  dispatcher.bind("consoles", [this](std::vector<std::string> args) { return consoles(std::move(args)); });
}

ConsoleDirectory::~ConsoleDirectory() = default;

void ConsoleDirectory::start() {
  for (const auto& m : membership_.active_members()) tasks_->spawn(learn(m), "learn console");
}

asio::awaitable<void> ConsoleDirectory::stop(StopDeadline deadline) {
  tasks_->close();
  co_await tasks_->shutdown(deadline.share(4, std::chrono::milliseconds(200)));
}

asio::awaitable<void> ConsoleDirectory::learn(swim::Member member) {
  const std::string id = member.id.to_string();
  if (member.id.name == self_ || urls_.contains(id) || asking_.contains(id)) co_return;
  asking_.insert(id);
  try {
    std::string url =
        co_await transport_.rpc_client().call(member.id.addr, kConsoleUrlMethod, std::string(), kAskTimeout);
    // It may have died while we asked.
    const auto members = membership_.active_members();
    if (std::ranges::any_of(members, [&](const swim::Member& m) { return m.id.to_string() == id; })) {
      urls_[id] = std::move(url);
    }
  } catch (const std::exception& e) {
    spdlog::debug("event=console_url_unknown member={} error={}", id, core::log_quote(e.what()));
  }
  asking_.erase(id);
}

bool ConsoleDirectory::trusted_origin(std::string_view origin) const {
  const std::string wanted = normal_origin(origin);
  return std::ranges::any_of(urls_, [&](const auto& entry) { return normal_origin(entry.second) == wanted; });
}

std::optional<std::string> ConsoleDirectory::url_of(const std::string& node) const {
  if (node == self_) return own_url_();
  for (const auto& m : membership_.active_members()) {
    if (m.id.name != node || m.state != swim::MemberState::alive) continue;
    const auto it = urls_.find(m.id.to_string());
    if (it == urls_.end()) return std::nullopt;
    if (!reachable_by_clients(it->second, m.id.addr, own_url_())) return std::nullopt;
    return it->second;
  }
  return std::nullopt;
}

asio::awaitable<json::value> ConsoleDirectory::consoles(std::vector<std::string> /*args*/) {
  // Members not known yet are asked in the background: a suspected one may
  // not answer, and the reply should not wait for it.
  const auto members = membership_.active_members();
  for (const auto& m : members) {
    if (m.id.name != self_ && !urls_.contains(m.id.to_string())) tasks_->spawn(learn(m), "learn console");
  }
  json::array out;
  for (const auto& m : members) {
    const std::string id = m.id.to_string();
    std::string url;
    if (m.id.name == self_) {
      url = own_url_();
    } else if (const auto it = urls_.find(id); it != urls_.end()) {
      url = it->second;
    } else {
      continue;
    }
    out.push_back(json::object{{"name", m.id.name}, {"url", url}, {"state", std::string(swim::to_string(m.state))}});
  }
  co_return json::object{{"consoles", std::move(out)}};
}

}  // namespace idunno::cli
