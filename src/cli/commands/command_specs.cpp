// The commands of IDunno: names, usage and text rendering (CONTRACT.md).
// Behaviour lives with the services; see node_commands*.cpp.

#include <boost/json.hpp>
#include <sstream>

#include "cli/commands/command_table.hpp"
#include "cli/commands/grep_text.hpp"
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
  return object_table(v, "members", {"NAME", "ADDR", "STATE", "ROLE", "INCARNATION", "ID"},
                      {"name", "addr", "state", "role", "incarnation", "id"});
}

std::string render_consoles(const json::value& v) {
  return object_table(v, "consoles", {"NAME", "URL", "STATE"}, {"name", "url", "state"});
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

std::string render_put(const json::value& v) {
  const auto& o = v.as_object();
  return "stored " + field(o, "name") + " version " + field(o, "version") + " (" + field(o, "size") + " bytes)\n";
}

std::string render_get(const json::value& v) {
  const auto& o = v.as_object();
  std::string out = "wrote " + field(o, "bytes") + " bytes to " + field(o, "path");
  if (o.contains("versions")) {
    out += " (versions";
    for (const auto& n : o.at("versions").as_array()) out += " " + json::serialize(n);
    out += ")";
  } else if (o.contains("version")) {
    out += " (version " + field(o, "version") + ")";
  }
  return out + "\n";
}

std::string render_deleted(const json::value& v) { return "deleted " + field(v.as_object(), "name") + "\n"; }

std::string replicas_text(const json::object& o) {
  std::string out;
  for (const auto& r : o.at("replicas").as_array()) out += (out.empty() ? "" : ",") + std::string(r.as_string());
  return out;
}

std::string render_ls(const json::value& v) {
  const auto& o = v.as_object();
  Table table({"NAME", "VERSION", "SIZE", "REPLICAS"});
  table.add({field(o, "name"), field(o, "version"), field(o, "size"), replicas_text(o)});
  return table.str();
}

std::string render_store(const json::value& v) {
  return object_table(v, "files", {"NAME", "VERSION", "SIZE"}, {"name", "version", "size"});
}

std::string file_target(const std::string& name) { return "/v1/files/" + percent_encode(name); }

// get SDFSNAME LOCAL [--version V]
std::string get_target(const std::vector<std::string>& args) {
  std::string target = file_target(args.at(0));
  if (args.size() == 4 && args[2] == "--version") target += "?version=" + percent_encode(args[3]);
  return target;
}

std::vector<CommandSpec> with_job_commands(std::vector<CommandSpec> specs) {
  for (auto& spec : job_command_specs()) specs.push_back(std::move(spec));
  return specs;
}

}  // namespace

const CommandTable& CommandTable::builtin() {
  static const CommandTable table(with_job_commands({
      {"help", "", "list the commands", 0, 0, render_help},
      {"list_self", "", "this node's id", 0, 0, render_self},
      {"list_mem", "", "the membership list", 0, 0, render_members},
      {"consoles", "", "the console (dashboard) URL of every live member", 0, 0, render_consoles},
      {"join", "", "join the group through the seeds", 0, 0, render_message},
      {"leave", "", "leave the group", 0, 0, render_message},
      {"coordinator", "", "the current coordinator (Raft leader) and term", 0, 0, render_coordinator},
      {"kv-put", "KEY VALUE", "store KEY=VALUE in the replicated test state machine", 2, 2, render_message},
      {"models", "", "the models this node knows (zoo and loaded TorchScript)", 0, 0, render_models},
      {"kv-get", "KEY [--via-log]",
       "read KEY from the replicated test state machine (linearizable; by ReadIndex, or through the log)", 1, 2,
       render_value},
      {"put",
       "LOCAL SDFSNAME",
       "store a local file in SDFS (a new version if it exists)",
       2,
       2,
       render_put,
       {ArgKind::local_input, ArgKind::plain},
       FileTransfer{[](const std::vector<std::string>& args) { return file_target(args.at(1)); }}},
      {"get",
       "SDFSNAME LOCAL [--version V]",
       "fetch the newest (or a given) version of an SDFS file",
       2,
       4,
       render_get,
       {ArgKind::plain, ArgKind::local_output},
       FileTransfer{get_target}},
      {"delete", "SDFSNAME", "delete every version of an SDFS file", 1, 1, render_deleted},
      {"ls", "SDFSNAME", "the newest version of an SDFS file, its size and the nodes holding it", 1, 1, render_ls},
      {"store", "", "the SDFS files stored on this node", 0, 0, render_store},
      {"get-versions",
       "SDFSNAME N LOCAL",
       "the newest N versions of an SDFS file, newest first, into one file",
       3,
       3,
       render_get,
       {ArgKind::plain, ArgKind::plain, ArgKind::local_output},
       FileTransfer{[](const std::vector<std::string>& args) {
         return file_target(args.at(0)) + "?versions=" + percent_encode(args.at(1));
       }}},
      {"log-level", "[LEVEL]",
       "the level of log lines shown on this node's terminal (trace|debug|info|warn|error|off); the log file keeps "
       "its own; without LEVEL, the current levels",
       0, 1, render_message},
      {"grep", "REGEX", "search every live node's log (ECMAScript, anywhere in a line); lines prefixed by node name", 1,
       1, render_grep},
  }));
  return table;
}

}  // namespace idunno::cli
