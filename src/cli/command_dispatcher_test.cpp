// CommandDispatcher: `help` lists only the commands this node binds, usage
// errors come from the table before any handler runs, and a handler's
// failures become failure outcomes (never exceptions).

#include "cli/command_dispatcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "core/coro_test.hpp"

namespace idunno::cli {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using net::console::CommandOutcome;

CommandOutcome run(CommandDispatcher& d, std::string name, std::vector<std::string> args = {}) {
  asio::io_context io;
  return idunno::testing::run_until_done(io, d.dispatch(std::move(name), std::move(args)));
}

std::vector<std::string> names(const CommandOutcome& help) {
  std::vector<std::string> out;
  for (const auto& c : help.result.at("commands").as_array()) out.emplace_back(c.at("name").as_string());
  return out;
}

TEST(CommandDispatcher, HelpListsHelpAndTheBoundCommandsOnly) {
  CommandDispatcher d(CommandTable::builtin());
  d.bind("list_self", [](std::vector<std::string>) -> asio::awaitable<json::value> { co_return json::object{}; });
  const auto help = run(d, "help");
  ASSERT_TRUE(help.ok) << help.error;
  EXPECT_EQ(names(help), (std::vector<std::string>{"help", "list_self"}));
  // Asking again gives the same (the table's help is not consumed).
  EXPECT_EQ(names(run(d, "help")), names(help));
}

TEST(CommandDispatcher, UsageErrorsAndUnboundCommandsFailWithoutRunningAHandler) {
  CommandDispatcher d(CommandTable::builtin());
  int calls = 0;
  d.bind("kv-get", [&calls](std::vector<std::string>) -> asio::awaitable<json::value> {
    ++calls;
    co_return json::object{};
  });
  const auto usage = run(d, "kv-get");  // the key is missing
  EXPECT_FALSE(usage.ok);
  EXPECT_NE(usage.error.find("kv-get"), std::string::npos) << usage.error;
  const auto unknown = run(d, "no-such-command");
  EXPECT_FALSE(unknown.ok);
  const auto unbound = run(d, "list_mem");
  EXPECT_FALSE(unbound.ok);
  EXPECT_NE(unbound.error.find("not available"), std::string::npos) << unbound.error;
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(d.bind("no-such-command", {}), std::logic_error);
}

TEST(CommandDispatcher, HandlerFailuresBecomeFailureOutcomes) {
  CommandDispatcher d(CommandTable::builtin());
  d.bind("kv-get", [](std::vector<std::string> args) -> asio::awaitable<json::value> {
    if (args.at(0) == "missing") throw CommandError("no such key 'missing'");
    if (args.at(0) == "bug") throw std::runtime_error("boom");
    co_return json::object{{"key", args.at(0)}};
  });
  const auto fine = run(d, "kv-get", {"k"});
  ASSERT_TRUE(fine.ok);
  EXPECT_EQ(fine.result.at("key").as_string(), "k");
  const auto expected = run(d, "kv-get", {"missing"});
  EXPECT_FALSE(expected.ok);
  EXPECT_EQ(expected.error, "no such key 'missing'");
  const auto internal = run(d, "kv-get", {"bug"});
  EXPECT_FALSE(internal.ok);
  EXPECT_EQ(internal.error, "internal error: boom");
}

// A local path names the disk of whoever typed it: the node's own only at
// its terminal. From the console such a command is refused before any
// handler could read the node's disk for a remote caller.
TEST(CommandDispatcher, LocalFileCommandsRunOnlyFromTheTerminal) {
  const CommandTable table({{"help", "", "list the commands", 0, 0, {}},
                            {"load", "LOCAL", "read a local file", 1, 1, {}, {ArgKind::local_input},
                             FileTransfer{[](const std::vector<std::string>&) { return std::string("/v1/load"); }}}});
  CommandDispatcher d(table);
  int calls = 0;
  d.bind("load", [&calls](std::vector<std::string>) -> asio::awaitable<json::value> {
    ++calls;
    co_return json::object{};
  });
  asio::io_context io;
  const auto refused = idunno::testing::run_until_done(io, d.dispatch("load", {"/etc/passwd"}));
  const auto local = idunno::testing::run_until_done(io, d.dispatch("load", {"/etc/passwd"}, CommandOrigin::terminal));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("local file"), std::string::npos) << refused.error;
  EXPECT_TRUE(local.ok);
  EXPECT_EQ(calls, 1);
  // A table entry with a local file but no transfer is a programming error.
  EXPECT_THROW(CommandTable({{"bad", "LOCAL", "no transfer", 1, 1, {}, {ArgKind::local_output}}}), std::logic_error);
}

}  // namespace
}  // namespace idunno::cli
