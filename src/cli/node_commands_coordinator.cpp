// Binds the coordinator commands: who the coordinator is, and the key-value
// test state machine replicated through Raft (kv-put, kv-get).

#include <boost/json.hpp>

#include "cli/node_services.hpp"
#include "core/timeout.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kSubmitTimeout = 10s;

asio::awaitable<raft::KvResult> submit_kv(NodeServices& s, std::string command) {
  try {
    const std::string reply = co_await s.raft->submit(std::move(command), kSubmitTimeout);
    co_return raft::decode_kv_result(reply);
  } catch (const core::TimeoutError&) {
    throw CommandError("no coordinator committed the command within 10 s; is a majority of voters alive?");
  }
}

}  // namespace

void bind_coordinator_commands(NodeServices& s) {
  s.dispatcher.bind("coordinator", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    const auto leader = s.raft->leader();
    json::object out{{"self_role", std::string(net::to_string(s.raft->role()))}, {"term", s.raft->term()}};
    if (leader) {
      out["name"] = leader->name;
      out["addr"] = leader->address.to_string();
      out["term"] = leader->term;
    } else {
      out["name"] = nullptr;
      out["addr"] = nullptr;
    }
    co_return out;
  });

  s.dispatcher.bind("kv-put", [&s](std::vector<std::string> args) -> asio::awaitable<json::value> {
    const auto result = co_await submit_kv(s, raft::kv_put(args.at(0), args.at(1)));
    if (result.status == raft::KvStatus::bad_command) throw CommandError("the coordinator refused the command");
    co_return json::object{{"key", args[0]}, {"value", args[1]}, {"message", "stored " + args[0]}};
  });

  s.dispatcher.bind("kv-get", [&s](std::vector<std::string> args) -> asio::awaitable<json::value> {
    const auto result = co_await submit_kv(s, raft::kv_get(args.at(0)));
    if (result.status == raft::KvStatus::not_found) throw CommandError("no key '" + args[0] + "'");
    if (result.status != raft::KvStatus::ok) throw CommandError("the coordinator refused the command");
    co_return json::object{{"key", args[0]}, {"value", result.value}};
  });
}

}  // namespace idunno::cli
