// Binds the machine-learning commands of the node (CONTRACT.md "Machine
// learning"): for now `models`.

#include <boost/json.hpp>

#include "cli/node_services.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

void bind_ml_commands([[maybe_unused]] NodeServices& s) {
#ifdef IDUNNO_WITH_ML
  s.dispatcher.bind("models", [&s](std::vector<std::string>) -> asio::awaitable<json::value> {
    json::array models;
    for (const auto& m : s.ml->models()) {
      json::array input;
      for (auto d : m.input.to_vector()) input.push_back(d);
      models.push_back(json::object{{"name", m.name},
                                    {"source", std::string(ml::to_string(m.source))},
                                    {"input", std::move(input)},
                                    {"classes", m.classes}});
    }
    co_return json::object{{"models", std::move(models)}};
  });
#endif
}

}  // namespace idunno::cli
