#pragma once
// The node's outgoing event stream (the console's `subscribe events`),
// which services publish to without knowing the console.
//
// Why: membership (and later storage and jobs) publish events, but the
// console is the last service to start and the first to stop; services
// below it must not depend on it. The console service attaches its server
// here while it runs; publishing with nothing attached does nothing. Owned
// by the composition root; event loop only.

#include <boost/json/value.hpp>
#include <string>

#include "net/console/console_server.hpp"

namespace idunno::cli {

class NodeEvents {
 public:
  void attach(net::console::ConsoleServer* console) { console_ = console; }
  void detach() { console_ = nullptr; }

  // True when someone listens to `topic` (lets publishers skip building it).
  bool wanted(const std::string& topic) const {
    return console_ != nullptr && console_->subscriber_count(topic) > 0;
  }
  void publish(const std::string& topic, const boost::json::value& data) {
    if (console_ != nullptr) console_->publish(topic, data);
  }

 private:
  net::console::ConsoleServer* console_ = nullptr;
};

}  // namespace idunno::cli
