#pragma once
// A synchronous facade over ConsoleClient for one-shot processes.
//
// Why: the idunno CLI connects, runs one command and exits; it has no event
// loop of its own. This class owns a private io_context and drives it only
// while a call is in progress, so the CLI's main stays plain sequential
// code. It throws the same ConsoleUnreachable / ConsoleAuthError /
// ConsoleError as ConsoleClient. Use from one thread.

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "net/console/console_client.hpp"

namespace idunno::net::console {

class BlockingConsoleClient {
 public:
  // Connects at once; throws ConsoleUnreachable or ConsoleAuthError.
  BlockingConsoleClient(const core::HostPort& node, const std::string& token, ConsoleClientOptions options = {});
  ~BlockingConsoleClient();
  BlockingConsoleClient(const BlockingConsoleClient&) = delete;
  BlockingConsoleClient& operator=(const BlockingConsoleClient&) = delete;

  ConsoleReply call(const std::string& cmd, const std::vector<std::string>& args);

  // Closes the connection politely (also done by the destructor).
  void close();

 private:
  boost::asio::io_context io_;
  ConsoleClient client_;
};

}  // namespace idunno::net::console
