#pragma once
// The node's outgoing event stream (the console's `subscribe events`),
// which services publish to without knowing the console.
//
// Why: membership (and later storage and jobs) publish events, but the
// console is the last service to start and the first to stop; services
// below it must not depend on it. The console service attaches its server
// here while it runs; publishing with nothing attached does nothing. Owned
// by the composition root; event loop only.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <string>

#include "net/console/console_server.hpp"

namespace idunno::cli {

class NodeEvents {
 public:
  void attach(net::console::ConsoleServer* console) { console_ = console; }
  void detach() { console_ = nullptr; }

  // The topic every event goes out on (`subscribe events`).
  static constexpr const char* kTopic = "events";

  // True when someone listens (lets publishers skip building an event).
  bool wanted() const { return console_ != nullptr && console_->subscriber_count(kTopic) > 0; }

  // Publishes {"type":TYPE,"ts_ms":NOW,...fields} (CONTRACT.md: member,
  // role, job, rate, sdfs).
  void publish(const std::string& type, boost::json::object fields) {
    if (console_ == nullptr) return;
    boost::json::object event{{"type", type}, {"ts_ms", now_ms()}};
    for (auto& [key, value] : fields) event[key] = std::move(value);
    console_->publish(kTopic, event);
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  net::console::ConsoleServer* console_ = nullptr;
};

}  // namespace idunno::cli
