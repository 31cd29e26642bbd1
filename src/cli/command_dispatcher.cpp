#include "cli/command_dispatcher.hpp"

#include <boost/asio/error.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"

namespace idunno::cli {

namespace json = boost::json;
using net::console::CommandOutcome;

CommandDispatcher::CommandDispatcher(const CommandTable& table) : table_(table) {}

void CommandDispatcher::bind(const std::string& name, Handler handler) {
  bind_with_progress(name, [handler = std::move(handler)](std::vector<std::string> args,
                                                          std::shared_ptr<CommandProgress> /*progress*/) {
    return handler(std::move(args));
  });
}

void CommandDispatcher::bind_with_progress(const std::string& name, ProgressHandler handler) {
  if (!table_.find(name)) throw std::logic_error("command '" + name + "' is not in the command table");
  handlers_[name] = std::move(handler);
}

boost::asio::awaitable<CommandOutcome> CommandDispatcher::dispatch(std::string name, std::vector<std::string> args,
                                                                   CommandOrigin origin,
                                                                   std::shared_ptr<CommandProgress> progress) {
  if (auto problem = table_.check(name, args)) co_return CommandOutcome::failure(*problem);
  if (origin == CommandOrigin::console && table_.find(name)->has_local_files()) {
    co_return CommandOutcome::failure("'" + name +
                                      "' takes a local file: run it with the idunno client (which streams the "
                                      "file) or at the node's own terminal, not as a console command");
  }
  if (name == "help") {
    // Only what this node can run.
    json::array commands;
    const json::value all = table_.help_json();  // kept alive for the loop below
    for (const auto& c : all.at("commands").as_array()) {
      const auto command_name = std::string(c.at("name").as_string());
      if (command_name == "help" || handlers_.contains(command_name)) commands.push_back(c);
    }
    co_return CommandOutcome::success(json::object{{"commands", std::move(commands)}});
  }
  auto it = handlers_.find(name);
  if (it == handlers_.end()) {
    co_return CommandOutcome::failure("'" + name + "' is not available on this node");
  }
  if (!progress) progress = std::make_shared<CommandProgress>();
  std::string failure;
  try {
    co_return CommandOutcome::success(co_await it->second(std::move(args), std::move(progress)));
  } catch (const CommandError& e) {
    failure = e.what();
  } catch (const boost::system::system_error& e) {
    if (e.code() == boost::asio::error::operation_aborted) {
      spdlog::info("event=command_cancelled cmd={}", name);
      failure = "cancelled";
    } else {
      spdlog::error("event=command_failed cmd={} error={}", name, core::log_quote(e.what()));
      failure = std::string("internal error: ") + e.what();
    }
  } catch (const std::exception& e) {
    spdlog::error("event=command_failed cmd={} error={}", name, core::log_quote(e.what()));
    failure = std::string("internal error: ") + e.what();
  }
  co_return CommandOutcome::failure(failure);
}

}  // namespace idunno::cli
