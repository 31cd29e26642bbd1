// The commands of IDunno: names, usage and text rendering (CONTRACT.md).
// Behaviour lives with the services; see node_commands*.cpp.

#include <boost/json.hpp>
#include <sstream>

#include "cli/commands/command_table.hpp"
#include "cli/commands/text_format.hpp"

namespace idunno::cli {

namespace json = boost::json;

namespace {

std::string render_help(const json::value& v) {
  std::ostringstream out;
  out << "commands (add --json for JSON output):\n";
  std::size_t width = 0;
  for (const auto& c : v.at("commands").as_array()) {
    const auto& o = c.as_object();
    width = std::max(width, o.at("name").as_string().size() + 1 + o.at("usage").as_string().size());
  }
  for (const auto& c : v.at("commands").as_array()) {
    const auto& o = c.as_object();
    std::string head = std::string(o.at("name").as_string());
    if (!o.at("usage").as_string().empty()) head += " " + std::string(o.at("usage").as_string());
    out << "  " << head << std::string(width - head.size() + 2, ' ') << o.at("summary").as_string().c_str()
        << "\n";
  }
  return out.str();
}

std::string render_self(const json::value& v) {
  const auto& o = v.as_object();
  std::ostringstream out;
  out << field(o, "id") << "\n"
      << "  name " << field(o, "name") << "  addr " << field(o, "addr") << "  incarnation "
      << field(o, "incarnation");
  if (o.contains("role")) out << "  role " << field(o, "role");
  out << "\n";
  return out.str();
}

std::string render_members(const json::value& v) {
  Table table({"NAME", "ADDR", "STATE", "ROLE", "INCARNATION", "ID"});
  for (const auto& m : v.at("members").as_array()) {
    const auto& o = m.as_object();
    table.add({field(o, "name"), field(o, "addr"), field(o, "state"), field(o, "role"), field(o, "incarnation"),
               field(o, "id")});
  }
  return table.str();
}

std::string render_message(const json::value& v) {
  if (v.is_object() && v.as_object().contains("message")) return field(v.as_object(), "message") + "\n";
  return pretty_json(v) + "\n";
}

std::string render_coordinator(const json::value& v) {
  const auto& o = v.as_object();
  if (field(o, "name").empty()) return "no coordinator known (term " + field(o, "term") + ")\n";
  return field(o, "name") + " at " + field(o, "addr") + " (term " + field(o, "term") + "); this node is " +
         field(o, "self_role") + "\n";
}

std::string render_models(const json::value& v) {
  Table table({"NAME", "SOURCE", "INPUT", "CLASSES"});
  for (const auto& m : v.at("models").as_array()) {
    const auto& o = m.as_object();
    std::string input;
    for (const auto& d : o.at("input").as_array()) input += (input.empty() ? "" : "x") + json::serialize(d);
    table.add({field(o, "name"), field(o, "source"), input, field(o, "classes")});
  }
  return table.str();
}

std::string render_value(const json::value& v) { return field(v.as_object(), "value") + "\n"; }

}  // namespace

const CommandTable& CommandTable::builtin() {
  static const CommandTable table({
      {"help", "", "list the commands", 0, 0, render_help},
      {"list_self", "", "this node's id", 0, 0, render_self},
      {"list_mem", "", "the membership list", 0, 0, render_members},
      {"join", "", "join the group through the seeds", 0, 0, render_message},
      {"leave", "", "leave the group", 0, 0, render_message},
      {"coordinator", "", "the current coordinator (Raft leader) and term", 0, 0, render_coordinator},
      {"kv-put", "KEY VALUE", "store KEY=VALUE in the replicated test state machine", 2, 2, render_message},
      {"models", "", "the models this node knows (zoo and loaded TorchScript)", 0, 0, render_models},
      {"kv-get", "KEY [--via-log]",
       "read KEY from the replicated test state machine (linearizable; by ReadIndex, or through the log)", 1, 2,
       render_value},
  });
  return table;
}

}  // namespace idunno::cli
