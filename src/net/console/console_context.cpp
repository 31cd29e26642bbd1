#include "net/console/console_context.hpp"

#include <sstream>

namespace idunno::net::console {

namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

}  // namespace

std::string ConsoleContext::metrics_text() const {
  std::ostringstream out;
  if (metrics) {
    std::string text = metrics();
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    out << text;
  }
  metric(out, "idunno_console_connections", "gauge", "Open console connections (HTTP and WebSocket).",
         connections.size());
  metric(out, "idunno_console_ws_sessions", "gauge", "Open console WebSocket sessions.", ws_sessions);
  metric(out, "idunno_console_connections_total", "counter", "Console connections accepted.",
         counters.connections_total);
  metric(out, "idunno_console_commands_total", "counter", "Commands received over console WebSockets.",
         counters.commands_total);
  metric(out, "idunno_console_malformed_frames_total", "counter", "Console WebSocket frames that did not parse.",
         counters.malformed_frames_total);
  metric(out, "idunno_console_refused_total", "counter", "Console requests refused for want of a valid token.",
         counters.refused_total);
  metric(out, "idunno_console_subscribers_dropped_total", "counter",
         "Console subscribers disconnected for falling behind.", counters.subscribers_dropped_total);
  metric(out, "idunno_console_events_published_total", "counter", "Events published to console subscribers.",
         counters.events_published_total);
  return out.str();
}

ConnectionRegistration::ConnectionRegistration(std::shared_ptr<ConsoleContext> context)
    : context_(std::move(context)), id_(context_->next_connection_id++) {
  context_->connections.emplace(id_, nullptr);
  ++context_->counters.connections_total;
}

ConnectionRegistration::ConnectionRegistration(ConnectionRegistration&& other) noexcept
    : context_(std::move(other.context_)), id_(other.id_) {
  other.id_ = 0;
}

ConnectionRegistration::~ConnectionRegistration() {
  if (context_) context_->connections.erase(id_);
}

void ConnectionRegistration::set(ConsoleConnection* connection) {
  if (context_) context_->connections[id_] = connection;
}

}  // namespace idunno::net::console
