#include "net/fencing.hpp"

#include <spdlog/spdlog.h>

namespace idunno::net {

namespace {

// Runs an admitted request's handler; a coroutine of its own so that it
// owns what it needs (the wrapping lambda is not a coroutine).
boost::asio::awaitable<std::string> run_admitted(RpcHandler handler, RpcContext context, std::string request) {
  co_return co_await handler(context, std::move(request));
}

}  // namespace

RpcHandler TermFence::guard(RpcHandler handler) {
  return [this, handler = std::move(handler)](const RpcContext& context,
                                              std::string request) -> boost::asio::awaitable<std::string> {
    if (!admit(context.term)) {
      const std::uint64_t highest = fence_.highest();
      spdlog::warn("event=fence_rejected method={} term={} highest={} peer={}", context.method, context.term,
                   highest, context.peer.to_string());
      throw RpcError(RpcErrorCode::stale_term, "term " + std::to_string(context.term) + " is older than term " +
                                                   std::to_string(highest) + " seen here");
    }
    return run_admitted(handler, context, std::move(request));
  };
}

}  // namespace idunno::net
