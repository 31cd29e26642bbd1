// JobTable::query: the read-only answers behind job-rates, get-stats,
// get-results and vm-states, in CONTRACT.md's JSON.

#include <boost/json.hpp>

#include "ml/jobs/job_table.hpp"
#include "ml/jobs/job_table_codec.hpp"

namespace idunno::ml::jobs {

namespace json = boost::json;

namespace {

json::object error_reply(std::string message) { return json::object{{"ok", false}, {"error", std::move(message)}}; }

json::object rates(const JobTable& table, std::uint64_t now_ms) {
  json::array jobs;
  const core::TimePoint now{std::chrono::milliseconds(now_ms)};
  for (const auto& [name, job] : table.jobs()) {
    if (job.is_train()) {
      // Training: epochs done of the job's epochs; the rate is the last
      // epoch's images/s while the job runs.
      const auto& t = job.train;
      const double rate = job.state == JobState::running && !t.history.empty() ? t.history.back().images_per_s : 0.0;
      jobs.push_back(json::object{{"job", name},
                                  {"kind", job.kind},
                                  {"state", to_string(job.state)},
                                  {"rate_10s", rate},
                                  {"done", t.epochs_done()},
                                  {"total", t.epochs},
                                  {"share", job.share},
                                  {"batch", job.batch}});
      continue;
    }
    jobs.push_back(json::object{{"job", name},
                                {"kind", job.kind},
                                {"state", to_string(job.state)},
                                {"rate_10s", job.stats.rate_at(now)},
                                {"done", job.done},
                                {"total", job.total()},
                                {"share", job.share},
                                {"batch", job.batch}});
  }
  return json::object{{"ok", true}, {"phase", to_string(table.phase())}, {"jobs", std::move(jobs)}};
}

json::object stats_of(const std::string& name, const JobEntry& job) {
  const ProcessingStats s = job.stats.processing();
  return json::object{{"job", name},        {"count", s.count},   {"avg_ms", s.avg_ms}, {"std_ms", s.std_ms},
                      {"p50_ms", s.p50_ms}, {"p90_ms", s.p90_ms}, {"p95_ms", s.p95_ms}, {"p99_ms", s.p99_ms}};
}

json::object stats(const JobTable& table, const json::object& query) {
  json::array jobs;
  if (const auto* wanted = query.if_contains("job"); wanted != nullptr && wanted->is_string()) {
    const auto* job = table.job(wanted->get_string());
    if (job == nullptr) return error_reply("no job named '" + std::string(wanted->get_string()) + "'");
    jobs.push_back(stats_of(std::string(wanted->get_string()), *job));
  } else {
    for (const auto& [name, job] : table.jobs()) {
      if (!job.is_train()) jobs.push_back(stats_of(name, job));  // training has no queries
    }
  }
  return json::object{{"ok", true}, {"jobs", std::move(jobs)}};
}

json::object job_reply(const JobTable& table, const json::object& query) {
  const auto* wanted = query.if_contains("job");
  if (wanted == nullptr || !wanted->is_string()) return error_reply("which job?");
  const auto* job = table.job(wanted->get_string());
  if (job == nullptr) return error_reply("no job named '" + std::string(wanted->get_string()) + "'");
  json::object out{{"ok", true},
                   {"job", job->name},
                   {"kind", job->kind},
                   {"state", to_string(job->state)},
                   {"done", job->done},
                   {"total", job->total()},
                   {"results", job->results},
                   {"results_version", job->results_version},
                   {"model", job->model.name},
                   {"batch", job->batch}};
  if (job->labelled > 0) {
    out["accuracy"] = static_cast<double>(job->correct) / static_cast<double>(job->labelled);
  } else {
    out["accuracy"] = nullptr;
  }
  if (job->is_train()) {
    const auto& t = job->train;
    json::array epochs;
    for (const auto& e : t.history) {
      json::object entry = epoch_to_json(e).as_object();
      entry.erase("checkpoint_version");
      epochs.push_back(std::move(entry));
    }
    out["done"] = t.epochs_done();
    out["total"] = t.epochs;
    out["model"] = t.model_out;
    out["start_model"] = job->model.name;
    out["results"] = t.model_out;
    out["results_version"] = t.model_version;
    const std::optional<double> accuracy = t.history.empty() ? std::nullopt : t.history.back().accuracy;
    out["accuracy"] = accuracy.has_value() ? json::value(accuracy.value()) : json::value(nullptr);
    out["epochs"] = std::move(epochs);
    out["workers"] = t.workers;
  }
  if (!job->reason.empty()) out["reason"] = job->reason;
  return out;
}

json::object workers(const JobTable& table) {
  // worker -> its leases, as "job/shard".
  json::object by_worker;
  for (const auto& [name, job] : table.jobs()) {
    for (const auto& [id, shard] : job.shards) {
      if (shard.state != ShardState::leased) continue;
      auto& entry = by_worker[shard.worker];
      if (!entry.is_array()) entry = json::array{};
      entry.as_array().push_back(json::value(name + "/" + std::to_string(id)));
    }
    for (const auto& worker : job.train.group) {
      auto& entry = by_worker[worker];
      if (!entry.is_array()) entry = json::array{};
      entry.as_array().push_back(json::value(name + "/train"));
    }
  }
  return json::object{{"ok", true}, {"phase", to_string(table.phase())}, {"workers", std::move(by_worker)}};
}

}  // namespace

std::string JobTable::query(std::string_view text) const {
  json::object reply;
  try {
    const auto value = json::parse(text);
    const auto& query = value.as_object();
    const auto* kind = query.if_contains("q");
    const std::string_view q = kind != nullptr && kind->is_string() ? std::string_view(kind->get_string()) : "";
    if (q == "rates") {
      const auto* now = query.if_contains("now_ms");
      reply = rates(*this, now != nullptr ? now->to_number<std::uint64_t>() : time_ms_);
    } else if (q == "stats") {
      reply = stats(*this, query);
    } else if (q == "job") {
      reply = job_reply(*this, query);
    } else if (q == "workers") {
      reply = workers(*this);
    } else {
      reply = error_reply("unknown query '" + std::string(q) + "'");
    }
  } catch (const std::exception& error) {
    reply = error_reply(std::string("bad query: ") + error.what());
  }
  return json::serialize(reply);
}

}  // namespace idunno::ml::jobs
