// RaftDriver: this node's client session (Raft thesis 6.3). The session is
// opened through the log (its id is the register entry's index); every
// submit() takes the next sequence number and keeps it across retries, and
// tells the replicated table which results it no longer needs (every seq
// below the lowest still unanswered), so the cache stays small. A submit
// that fails with its outcome unknown gives the session up.

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/raft/routed_entry.hpp"
#include "core/timeout.hpp"
#include "net/raft/raft_driver.hpp"

namespace idunno::net {

namespace asio = boost::asio;

std::uint64_t RaftDriver::lowest_unanswered() const {
  return unanswered_.empty() ? next_seq_ + 1 : *unanswered_.begin();
}

asio::awaitable<void> RaftDriver::ensure_session(std::chrono::steady_clock::time_point deadline) {
  while (client_id_ == 0) {
    if (stopping_ || std::chrono::steady_clock::now() >= deadline) throw core::TimeoutError();
    if (registering_) {
      // Another submit is opening the session: wait for it to finish.
      auto wait = registering_;
      co_await wait->async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto done = std::make_shared<asio::steady_timer>(executor_, deadline);
    registering_ = done;
    std::exception_ptr error;
    try {
      const std::string reply = co_await submit_entry(raft::register_session_entry(), deadline);
      const auto result = raft::decode_route_result(reply);
      if (result.status != raft::RouteStatus::registered) {
        throw std::runtime_error("opening a session was refused: " + std::string(raft::to_string(result.status)));
      }
      client_id_ = std::stoull(result.payload);
      next_seq_ = 0;
      unanswered_.clear();
      spdlog::info("event=raft_session_opened node={} client={}", options_.name, client_id_);
    } catch (...) {
      error = std::current_exception();
    }
    registering_.reset();
    done->cancel();
    if (error) std::rethrow_exception(error);
  }
}

asio::awaitable<std::string> RaftDriver::submit(std::string machine, std::string command,
                                                std::chrono::milliseconds timeout) {
  check_size(command.size());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  co_await ensure_session(deadline);
  raft::RoutedEntry entry;
  entry.client = client_id_;
  entry.seq = ++next_seq_;
  unanswered_.insert(entry.seq);
  entry.acked = lowest_unanswered() - 1;
  entry.machine = std::move(machine);
  entry.payload = std::move(command);
  const auto seq = entry.seq;
  const auto client = entry.client;
  std::string reply;
  std::exception_ptr error;
  try {
    reply = co_await submit_entry(raft::encode_routed(entry), deadline);
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    // The command may still apply later (a copy in some log): its seq can
    // neither be acknowledged nor reused. Give the session up; the next
    // submit opens another, and this one expires in the replicated state.
    if (client == client_id_) {
      client_id_ = 0;
      unanswered_.clear();
    }
    std::rethrow_exception(error);
  }
  if (client == client_id_) unanswered_.erase(seq);
  const auto result = raft::decode_route_result(reply);
  switch (result.status) {
    case raft::RouteStatus::ok:
    case raft::RouteStatus::duplicate:
      co_return result.payload;
    case raft::RouteStatus::session_expired:
      if (client == client_id_) client_id_ = 0;
      throw SessionExpired();
    case raft::RouteStatus::unknown_machine:
      throw std::invalid_argument("no state machine named '" + entry.machine + "'");
    default:
      throw std::runtime_error("the coordinator refused the command: " + std::string(raft::to_string(result.status)));
  }
}

}  // namespace idunno::net
