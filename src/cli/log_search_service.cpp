#include "cli/log_search_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <exception>
#include <map>

#include "core/timeout.hpp"
#include "net/rpc.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Awaits every query at once; cancelling the caller cancels all of them.
asio::awaitable<void> all_of(std::vector<asio::awaitable<void>> queries) {
  using namespace asio::experimental::awaitable_operators;
  if (queries.empty()) co_return;
  asio::awaitable<void> first = std::move(queries.back());
  queries.pop_back();
  if (queries.empty()) {
    co_await std::move(first);
  } else {
    co_await (std::move(first) && all_of(std::move(queries)));
  }
}

// One member per name: a restarted node may still be listed, suspected,
// under its old incarnation beside its new one (same name, same log).
std::vector<swim::Member> one_per_name(const std::vector<swim::Member>& members) {
  std::map<std::string, swim::Member> by_name;
  for (const auto& m : members) {
    auto [it, added] = by_name.emplace(m.id.name, m);
    if (!added && it->second.state != swim::MemberState::alive && m.state == swim::MemberState::alive) it->second = m;
  }
  std::vector<swim::Member> out;
  for (auto& [name, m] : by_name) out.push_back(std::move(m));
  return out;
}

pb::GrepReply reply_of(const LogSearchResult& result) {
  pb::GrepReply reply;
  for (const auto& line : result.lines) reply.add_lines(line);
  reply.set_truncated(result.truncated);
  reply.set_scanned_lines(result.scanned_lines);
  return reply;
}

}  // namespace

LogSearchService::LogSearchService(const core::Config& config, TransportService& transport,
                                   MembershipService& membership, core::ThreadPool& io_pool,
                                   CommandDispatcher& dispatcher)
    : self_(config.node_name()),
      log_path_(config.node.data_dir / "node.log"),
      rpc_(transport.rpc_client()),
      membership_(membership),
      io_pool_(io_pool) {
  // The scan must end, and its answer travel, before the asker gives up.
  limits_.budget = kAnswerTimeout - std::chrono::milliseconds(1'500);
  net::handle_typed<pb::GrepRequest, pb::GrepReply>(
      transport.rpc_server(), kLogGrepMethod,
      [this](const net::RpcContext& context, pb::GrepRequest request) { return serve(context, std::move(request)); });
  dispatcher.bind("grep", [this](std::vector<std::string> args) { return grep(std::move(args)); });
}

asio::awaitable<LogSearchResult> LogSearchService::search_here(std::string pattern) {
  auto job = [path = log_path_, pattern = std::move(pattern), limits = limits_](const core::CancelToken& cancel) {
    return search_log_file(path, LinePattern(pattern), limits, cancel);
  };
  // Bounded here too: the scan may wait behind other disk work on the pool.
  auto searching = core::with_timeout(io_pool_.run_cancellable(std::move(job)), kAnswerTimeout);
  LogSearchResult result;
  try {
    result = co_await std::move(searching);
  } catch (const core::TimeoutError&) {
    throw std::runtime_error("the log search did not finish within " + std::to_string(kAnswerTimeout.count()) + " ms");
  }
  spdlog::debug("event=log_search_done matches={} scanned_lines={} truncated={}", result.lines.size(),
                result.scanned_lines, !result.truncated.empty());
  co_return result;
}

asio::awaitable<pb::GrepReply> LogSearchService::serve(net::RpcContext /*context*/, pb::GrepRequest request) {
  std::string problem;
  try {
    (void)LinePattern(request.pattern());
  } catch (const BadPattern& e) {
    problem = e.what();
  }
  if (!problem.empty()) throw net::RpcError(problem);
  // What the search throws (the log unreadable) goes back as the error.
  const LogSearchResult result = co_await search_here(request.pattern());
  co_return reply_of(result);
}

asio::awaitable<void> LogSearchService::ask(swim::Member member, std::string pattern,
                                            std::shared_ptr<std::vector<NodeLogAnswer>> answers, std::size_t index) {
  NodeLogAnswer answer{member.id.name, {}, {}, {}};
  try {
    if (member.id.name == self_) {
      LogSearchResult result = co_await search_here(std::move(pattern));
      answer.lines = std::move(result.lines);
      answer.truncated = std::move(result.truncated);
    } else {
      pb::GrepRequest request;
      request.set_pattern(std::move(pattern));
      auto call = net::call_typed<pb::GrepReply>(rpc_, member.id.addr, kLogGrepMethod, request, kAnswerTimeout);
      const pb::GrepReply reply = co_await std::move(call);
      answer.lines.assign(reply.lines().begin(), reply.lines().end());
      answer.truncated = reply.truncated();
    }
  } catch (const std::exception& e) {
    answer.error = e.what();
  }
  (*answers)[index] = std::move(answer);
}

asio::awaitable<json::value> LogSearchService::grep(std::vector<std::string> args) {
  const std::string& pattern = args.at(0);
  std::string problem;
  try {
    (void)LinePattern(pattern);
  } catch (const BadPattern& e) {
    problem = e.what();
  }
  if (!problem.empty()) throw CommandError(problem);
  const auto members = one_per_name(membership_.active_members());
  auto answers = std::make_shared<std::vector<NodeLogAnswer>>(members.size());
  std::vector<asio::awaitable<void>> queries;
  for (std::size_t i = 0; i < members.size(); ++i) queries.push_back(ask(members[i], pattern, answers, i));
  co_await all_of(std::move(queries));
  std::size_t matches = 0;
  std::size_t failed = 0;
  for (const auto& a : *answers) {
    matches += a.lines.size();
    if (!a.error.empty()) ++failed;
  }
  spdlog::debug("event=grep_done nodes={} matches={} failed={}", answers->size(), matches, failed);
  co_return grep_result_json(std::move(*answers));
}

}  // namespace idunno::cli
