// The machine-learning job commands of IDunno: names, usage and text
// rendering (CONTRACT.md, "Machine learning"). Behaviour lives in
// JobService (src/cli/job_service.hpp).

#include <boost/json.hpp>
#include <cstdio>
#include <sstream>

#include "cli/commands/command_table.hpp"
#include "cli/commands/text_format.hpp"

namespace idunno::cli {

namespace json = boost::json;

namespace {

std::string fixed(const json::object& o, const char* key, int decimals) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v->to_number<double>());
  return buffer;
}

std::string render_sub(const json::value& v) {
  const auto& o = v.as_object();
  return "job " + field(o, "job") + " added (" + field(o, "state") + ")\n";
}

std::string render_rates(const json::value& v) {
  const auto& o = v.as_object();
  Table table({"JOB", "KIND", "STATE", "RATE_10S", "DONE", "TOTAL"});
  for (const auto& j : o.at("jobs").as_array()) {
    const auto& row = j.as_object();
    table.add({field(row, "job"), field(row, "kind"), field(row, "state"), fixed(row, "rate_10s", 1),
               field(row, "done"), field(row, "total")});
  }
  return "phase " + field(o, "phase") + "\n" + table.str();
}

std::string render_stats(const json::value& v) {
  Table table({"JOB", "COUNT", "AVG_MS", "STD_MS", "P50_MS", "P90_MS", "P95_MS", "P99_MS"});
  for (const auto& j : v.at("jobs").as_array()) {
    const auto& row = j.as_object();
    table.add({field(row, "job"), field(row, "count"), fixed(row, "avg_ms", 3), fixed(row, "std_ms", 3),
               fixed(row, "p50_ms", 3), fixed(row, "p90_ms", 3), fixed(row, "p95_ms", 3), fixed(row, "p99_ms", 3)});
  }
  return table.str();
}

std::string render_train_results(const json::object& o) {
  std::ostringstream out;
  out << "job " << field(o, "job") << " (train, " << field(o, "state") << "): " << field(o, "done") << "/"
      << field(o, "total") << " epochs";
  if (o.contains("accuracy") && !o.at("accuracy").is_null()) out << ", accuracy " << fixed(o, "accuracy", 4);
  out << "; model " << field(o, "model");
  if (o.contains("path")) out << " -> " << field(o, "path");
  if (o.contains("reason")) out << "; " << field(o, "reason");
  out << "\n";
  Table table({"EPOCH", "LOSS", "ACCURACY", "IMAGES_PER_S"});
  for (const auto& e : o.at("epochs").as_array()) {
    const auto& row = e.as_object();
    table.add({field(row, "epoch"), fixed(row, "loss", 4), fixed(row, "accuracy", 4), fixed(row, "images_per_s", 1)});
  }
  return out.str() + table.str();
}

std::string render_results(const json::value& v) {
  const auto& o = v.as_object();
  if (field(o, "kind") == "train") return render_train_results(o);
  std::ostringstream out;
  out << "job " << field(o, "job") << " (" << field(o, "kind") << ", " << field(o, "state") << "): " << field(o, "done")
      << "/" << field(o, "total") << " queries";
  if (o.contains("accuracy") && !o.at("accuracy").is_null()) out << ", accuracy " << fixed(o, "accuracy", 4);
  out << "; results " << field(o, "results");
  if (o.contains("path")) out << " -> " << field(o, "path");
  if (o.contains("reason")) out << "; " << field(o, "reason");
  out << "\n";
  return out.str();
}

std::string render_vm_states(const json::value& v) {
  Table table({"NAME", "ROLE", "STATE", "JOBS", "SHARD"});
  for (const auto& n : v.at("nodes").as_array()) {
    const auto& row = n.as_object();
    std::string jobs;
    for (const auto& j : row.at("jobs").as_array()) jobs += (jobs.empty() ? "" : ",") + std::string(j.as_string());
    table.add({field(row, "name"), field(row, "role"), field(row, "state"), jobs.empty() ? "-" : jobs,
               row.at("shard").is_null() ? "-" : field(row, "shard")});
  }
  const auto& o = v.as_object();
  return (o.contains("phase") ? "phase " + field(o, "phase") + "\n" : std::string()) + table.str();
}

std::string render_done(const json::value& v) {
  const auto& o = v.as_object();
  if (o.contains("removed")) return "removed " + field(o, "job") + "\n";
  if (o.contains("batch")) return field(o, "job") + ": batch size " + field(o, "batch") + " for its next shards\n";
  return "phase " + field(o, "phase") + "\n";
}

}  // namespace

std::vector<CommandSpec> job_command_specs() {
  return {
      {"sub", "JOB DATA BATCH [--model MODEL] [--share W]",
       "add an inference job over DATA (a path or sdfs:NAME) in batches of BATCH", 3, 7, render_sub},
      {"train",
       "JOB --model MODEL --data DATASET [--eval DATASET] [--epochs E] [--batch B] [--lr LR] [--workers K] "
       "[--seed S]",
       "add a training job; the trained model goes to SDFS as models/JOB", 5, 17, render_sub},
      {"remove", "JOB", "stop and remove a job", 1, 1, render_done},
      {"set-batch", "JOB BATCH", "change a job's batch size (for its next shards)", 2, 2, render_done},
      {"phase", "train|infer|stop", "start a phase (pausing the other) or pause everything", 1, 1, render_done},
      {"job-rates", "", "per job: query rate over the last 10 s and queries done", 0, 0, render_rates},
      {"get-stats", "[JOB]", "per job: processing-time count, avg, std, median, p90, p95, p99", 0, 1, render_stats},
      {"get-results", "JOB [LOCAL]", "a job's progress and accuracy; its results into LOCAL", 1, 2, render_results},
      {"vm-states", "", "each node's role and the jobs and shard it is working on", 0, 0, render_vm_states},
  };
}

}  // namespace idunno::cli
