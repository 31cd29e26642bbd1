#pragma once
// The cluster-wide log query as a node service: the "log.grep" RPC, which
// searches this node's own log (DATA_DIR/node.log) on the I/O pool, and the
// `grep REGEX` command, which asks every live member at once and merges
// their answers (cli/log_search.hpp).
//
// Why: every event is one `event=NAME key=value` line in some node's log,
// so one query over all of them answers "what happened to shard 17". A
// member that does not answer within the timeout is reported beside the
// matches, not a failure of the command: the point of the query is often a
// cluster in trouble. A bad pattern is refused before anything is sent.
//
// Reading the log never blocks the loop: the scan runs on the I/O pool,
// bounded in time and size (LogSearchLimits), and is cancelled with the
// call that asked for it. Nothing here logs the pattern, so a query never
// finds itself. Event loop only.

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_dispatcher.hpp"
#include "cli/log_search.hpp"
#include "cli/log_search.pb.h"
#include "cli/membership_service.hpp"
#include "cli/service.hpp"
#include "cli/transport_service.hpp"
#include "core/config.hpp"
#include "core/thread_pool.hpp"

namespace idunno::cli {

inline constexpr const char* kLogGrepMethod = "log.grep";

class LogSearchService final : public Service {
 public:
  LogSearchService(const core::Config& config, TransportService& transport, MembershipService& membership,
                   core::ThreadPool& io_pool, CommandDispatcher& dispatcher);

  std::string_view name() const override { return "log-search"; }
  void start() override {}
  boost::asio::awaitable<void> stop(StopDeadline /*deadline*/) override { co_return; }

  // How long a member has to answer; its own scan stops a little earlier
  // (LogSearchLimits::budget) so that it answers with what it found.
  static constexpr std::chrono::milliseconds kAnswerTimeout{5'000};

 private:
  boost::asio::awaitable<pb::GrepReply> serve(net::RpcContext context, pb::GrepRequest request);
  // This node's own log searched on the I/O pool; throws when it cannot be
  // read or the search does not end in time.
  boost::asio::awaitable<LogSearchResult> search_here(std::string pattern);
  boost::asio::awaitable<boost::json::value> grep(std::vector<std::string> args);

  // Fills (*answers)[index] with `member`'s answer or why there is none;
  // never throws.
  boost::asio::awaitable<void> ask(swim::Member member, std::string pattern,
                                   std::shared_ptr<std::vector<NodeLogAnswer>> answers, std::size_t index);

  std::string self_;
  std::filesystem::path log_path_;
  net::RpcClient& rpc_;
  MembershipService& membership_;
  core::ThreadPool& io_pool_;
  LogSearchLimits limits_;
};

}  // namespace idunno::cli
