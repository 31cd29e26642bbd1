#pragma once
// Cluster RPC: include this one header to serve or call methods.
//
// Wire: 4-byte big-endian length + RpcFrame (net/rpc.proto). Typed helpers
// wrap RpcServer::handle / RpcClient::call for protobuf message types, so a
// service writes `handle_typed<VoteRequest, VoteReply>(server, "raft.vote",
// fn)` and `co_await call_typed<VoteReply>(client, peer, "raft.vote", req,
// 100ms, term)`. Same threading rules as the classes they wrap.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "net/rpc_client.hpp"
#include "net/rpc_error.hpp"
#include "net/rpc_server.hpp"

namespace idunno::net {

namespace detail {
// The coroutine behind call_typed: owns everything it uses while suspended.
template <class Resp>
boost::asio::awaitable<Resp> parse_typed_reply(boost::asio::awaitable<std::string> reply, std::string to,
                                               std::string method) {
  std::string bytes = co_await std::move(reply);
  Resp response;
  if (!response.ParseFromString(bytes)) {
    throw RpcError(RpcErrorCode::protocol,
                   "response of " + method + " from " + to + " is not a valid " + Resp::descriptor()->full_name());
  }
  co_return response;
}
}  // namespace detail

// Calls `method` with a protobuf request and parses the protobuf response.
// A response that does not parse as Resp throws RpcError(protocol). Not a
// coroutine itself: the request is serialized and `to` copied before the
// caller resumes, so temporaries may be passed.
template <class Resp, class Req>
boost::asio::awaitable<Resp> call_typed(RpcClient& client, const core::HostPort& to, std::string method,
                                        const Req& request, std::chrono::milliseconds deadline,
                                        std::uint64_t term = 0) {
  auto reply = client.call(to, method, request.SerializeAsString(), deadline, term);
  return detail::parse_typed_reply<Resp>(std::move(reply), to.to_string(), std::move(method));
}

namespace detail {
// The coroutine behind handle_typed: takes everything by value so that it
// owns what it uses while suspended.
template <class Req, class Resp, class Fn>
boost::asio::awaitable<std::string> call_typed_handler(std::shared_ptr<Fn> fn, RpcContext context,
                                                       std::string bytes) {
  Req request;
  if (!request.ParseFromString(bytes)) {
    throw RpcError("request of " + context.method + " is not a valid " + Req::descriptor()->full_name());
  }
  Resp response = co_await (*fn)(context, std::move(request));
  co_return response.SerializeAsString();
}
}  // namespace detail

// A handler taking and returning protobuf messages, from `fn(const
// RpcContext&, Req) -> awaitable<Resp>`. A request that does not parse as
// Req is answered with an error.
template <class Req, class Resp, class Fn>
RpcHandler typed_handler(Fn fn) {
  return [fn = std::make_shared<Fn>(std::move(fn))](const RpcContext& context, std::string bytes) {
    return detail::call_typed_handler<Req, Resp>(fn, context, std::move(bytes));
  };
}

// Registers typed_handler<Req, Resp>(fn) under `method`.
template <class Req, class Resp, class Fn>
void handle_typed(RpcServer& server, std::string method, Fn fn) {
  server.handle(std::move(method), typed_handler<Req, Resp>(std::move(fn)));
}

}  // namespace idunno::net
