// Binds the node-level commands (list_self, and those of each service).

#include <boost/json.hpp>

#include "cli/node_services.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

void bind_node_commands(NodeServices& s) {
  s.dispatcher.bind("list_self", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    const auto started_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.started_at.time_since_epoch()).count();
    const auto addr = s.config.advertise_address().to_string();
    co_return json::object{{"id", s.config.node_name() + "@" + addr + "#" + std::to_string(started_ms)},
                           {"name", s.config.node_name()},
                           {"addr", addr},
                           {"incarnation", started_ms},
                           {"console", s.config.console.bind.to_string()}};
  });
}

}  // namespace idunno::cli
