#include "ml/jobs/job_table.hpp"

#include <boost/json.hpp>
#include <algorithm>
#include <limits>

#include "ml/jobs/job_table_codec.hpp"

namespace idunno::ml::jobs {

namespace json = boost::json;

namespace {

json::object refused(std::string message) { return json::object{{"ok", false}, {"error", std::move(message)}}; }
json::object accepted() { return json::object{{"ok", true}}; }

std::string_view text_of(const json::object& command, const char* key) {
  const auto* value = command.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return value->get_string();
}

std::optional<std::uint64_t> number_of(const json::object& command, const char* key) {
  const auto* value = command.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (const auto* u = value->if_uint64()) return *u;
  if (const auto* i = value->if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

// Weight of a new cost sample in the smoothed cost.
constexpr double kCostWeight = 0.3;

constexpr std::uint64_t kMaxEpochs = 1000;
constexpr std::uint64_t kMaxRanks = 64;

// The phase in which jobs of `job`'s kind run.
Phase phase_of(const JobEntry& job) { return job.is_train() ? Phase::train : Phase::infer; }

}  // namespace

bool JobEntry::has_work() const {
  if (planned < total()) return true;
  return std::any_of(shards.begin(), shards.end(),
                     [](const auto& entry) { return entry.second.state == ShardState::queued; });
}

bool JobEntry::all_done() const {
  return done == total() && std::all_of(shards.begin(), shards.end(),
                                        [](const auto& entry) { return entry.second.state == ShardState::done; });
}

std::uint64_t JobEntry::in_flight() const {
  std::uint64_t out = 0;
  for (const auto& [id, shard] : shards) {
    if (shard.state == ShardState::leased) out += shard.queries();
  }
  return out;
}

std::string shard_results_prefix(std::string_view job) { return "results/" + std::string(job) + ".shards/"; }

std::string shard_results_name(std::string_view job, std::uint64_t shard) {
  std::string id = std::to_string(shard);
  if (id.size() < 6) id.insert(0, 6 - id.size(), '0');
  return shard_results_prefix(job) + id;
}

const JobEntry* JobTable::job(std::string_view name) const {
  const auto it = jobs_.find(name);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::string JobTable::apply(raft::Index /*index*/, std::string_view command) {
  json::object result;
  try {
    result = execute(json::parse(command));
  } catch (const std::exception& error) {
    result = refused(std::string("bad command: ") + error.what());
  }
  return json::serialize(result);
}

json::object JobTable::execute(const json::value& value) {
  const auto* command = value.if_object();
  if (command == nullptr) return refused("a command is an object");
  if (const auto at = number_of(*command, "at_ms")) time_ms_ = std::max(time_ms_, *at);
  const std::string_view op = text_of(*command, "op");
  if (op == "add") return add(*command);
  if (op == "remove") return remove(*command);
  if (op == "set_batch") return set_batch(*command);
  if (op == "phase") return set_phase(*command);
  if (op == "lease") return lease(*command);
  if (op == "complete") return complete(*command);
  if (op == "release") return release(*command);
  if (op == "finish") return finish(*command);
  if (op == "redo") return redo(*command);
  if (op == "train_lease") return train_lease(*command);
  if (op == "epoch") return epoch(*command);
  return refused("unknown operation '" + std::string(op) + "'");
}

void JobTable::start(JobEntry& job) {
  double least = std::numeric_limits<double>::infinity();
  for (const auto& [name, other] : jobs_) {
    if (&other != &job && other.state == JobState::running) least = std::min(least, other.vtime);
  }
  if (least != std::numeric_limits<double>::infinity()) job.vtime = std::max(job.vtime, least);
  job.state = JobState::running;
}

void JobTable::follow_phase() {
  for (auto& [name, job] : jobs_) {
    if (phase_ == phase_of(job) && (job.state == JobState::queued || job.state == JobState::paused)) {
      start(job);
    } else if (phase_ != phase_of(job) && job.state == JobState::running) {
      job.state = JobState::paused;
      // A paused training group stops; it resumes from its checkpoint.
      job.train.group.clear();
    }
  }
}

json::object JobTable::add(const json::object& command) {
  JobEntry job;
  try {
    job = job_from_json(command.at("job"));
  } catch (const std::exception& error) {
    return refused(std::string("bad job: ") + error.what());
  }
  if (job.name.empty()) return refused("a job needs a name");
  if (jobs_.contains(job.name)) return refused("a job named '" + job.name + "' exists already");
  if (job.batch == 0) return refused("the batch size must be at least 1");
  if (job.total() == 0) return refused("the dataset has no queries");
  if (job.batch > job.total()) {
    return refused("the batch size " + std::to_string(job.batch) + " is larger than the dataset (" +
                   std::to_string(job.total()) + " queries)");
  }
  if (job.share == 0) return refused("the share must be at least 1");
  if (job.is_train()) {
    TrainEntry& t = job.train;
    if (t.epochs == 0 || t.epochs > kMaxEpochs) return refused("epochs must be 1 to " + std::to_string(kMaxEpochs));
    if (t.workers == 0 || t.workers > kMaxRanks) return refused("workers must be 1 to " + std::to_string(kMaxRanks));
    if (!(t.lr > 0) || t.lr > 10) return refused("the learning rate must be in (0, 10]");
    if (!(t.lr_decay > 0) || t.lr_decay > 1) return refused("the learning-rate decay must be in (0, 1]");
    if (!is_lr_schedule(t.schedule)) return refused("the schedule is exponential or cosine");
    if (!(t.weight_decay >= 0) || t.weight_decay > 1) return refused("the weight decay must be in [0, 1]");
    if (t.optimizer != "sgd" && t.optimizer != "adam") return refused("the optimizer is sgd or adam");
    if (t.augment_shift > 8) return refused("the augmentation moves images by at most 8 pixels");
    if (!job.data.labels) return refused("training needs labels: the dataset has none");
    if (job.batch * t.workers > job.total()) {
      return refused("the batch size " + std::to_string(job.batch) + " on " + std::to_string(t.workers) +
                     " workers is larger than the dataset (" + std::to_string(job.total()) + " images)");
    }
    t.history.clear();
    t.group.clear();
    t.attempt = t.leased_ms = t.model_version = t.tries = 0;
    t.checkpoint = "checkpoints/" + job.name;
    t.model_out = "models/" + job.name;
  } else {
    job.train = {};
  }
  job.shards.clear();
  job.planned = job.done = job.labelled = job.correct = 0;
  job.vtime = 0;
  job.cost_ns = 0;
  job.stats = {};
  job.results = "results/" + job.name;
  job.results_version = 0;
  job.submitted_ms = number_of(command, "at_ms").value_or(0);
  job.finished_ms = 0;
  job.reason.clear();
  job.state = JobState::queued;
  // When no phase runs, the job starts its own; during the other phase it
  // waits, queued.
  if (phase_ == Phase::stopped) phase_ = phase_of(job);
  auto& stored = jobs_.emplace(job.name, std::move(job)).first->second;
  follow_phase();
  auto out = accepted();
  out["state"] = to_string(stored.state);
  out["phase"] = to_string(phase_);
  return out;
}

json::object JobTable::remove(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no job named '" + std::string(text_of(command, "job")) + "'");
  auto out = accepted();
  out["results"] = it->second.results;
  out["shards"] = it->second.shards.size();
  jobs_.erase(it);
  return out;
}

json::object JobTable::set_batch(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no job named '" + std::string(text_of(command, "job")) + "'");
  const auto batch = number_of(command, "batch");
  if (!batch || *batch == 0) return refused("the batch size must be at least 1");
  if (*batch > it->second.total()) {
    return refused("the batch size " + std::to_string(*batch) + " is larger than the dataset (" +
                   std::to_string(it->second.total()) + " queries)");
  }
  it->second.batch = *batch;
  return accepted();
}

json::object JobTable::set_phase(const json::object& command) {
  const auto phase = phase_from(text_of(command, "phase"));
  if (!phase) return refused("the phase is train, infer or stop");
  phase_ = *phase;
  follow_phase();
  auto out = accepted();
  out["phase"] = to_string(phase_);
  return out;
}

json::object JobTable::lease(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  if (job.state != JobState::running) return refused("the job is not running");
  if (job.is_train()) return refused("a training job is leased whole (train_lease)");
  const std::string worker(text_of(command, "worker"));
  const auto id = number_of(command, "shard");
  const auto at = number_of(command, "at_ms").value_or(time_ms_);
  if (worker.empty() || !id) return refused("a lease names a worker and a shard");
  const std::uint64_t next_id = job.shards.empty() ? 0 : job.shards.rbegin()->first + 1;
  ShardEntry* shard = nullptr;
  if (*id < next_id) {
    shard = &job.shards.at(*id);
    if (shard->state != ShardState::queued) return refused("the shard is not queued");
  } else if (*id == next_id) {
    const auto begin = number_of(command, "begin");
    const auto end = number_of(command, "end");
    const auto batch = number_of(command, "batch");
    if (!begin || !end || !batch || *begin != job.planned || *end <= *begin || *end > job.total() || *batch == 0) {
      return refused("the new shard does not continue the plan");
    }
    shard = &job.shards[*id];
    shard->begin = *begin;
    shard->end = *end;
    shard->batch = *batch;
    job.planned = *end;
  } else {
    return refused("the shard id skips ahead");
  }
  shard->state = ShardState::leased;
  shard->worker = worker;
  shard->attempt += 1;
  shard->leased_ms = at;
  job.vtime += static_cast<double>(shard->queries()) / static_cast<double>(job.share);
  auto out = accepted();
  out["attempt"] = shard->attempt;
  return out;
}

void JobTable::requeue(JobEntry& job, ShardEntry& shard) {
  shard.state = ShardState::queued;
  shard.worker.clear();
  job.vtime -= static_cast<double>(shard.queries()) / static_cast<double>(job.share);
}

json::object JobTable::complete(const json::object& command) {
  ShardOutcome outcome;
  try {
    outcome = shard_outcome_from_json(command.at("outcome"));
  } catch (const std::exception& error) {
    return refused(std::string("bad outcome: ") + error.what());
  }
  const auto it = jobs_.find(outcome.job);
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  const auto shard_it = job.shards.find(outcome.shard);
  if (shard_it == job.shards.end()) return refused("no such shard");
  ShardEntry& shard = shard_it->second;
  if (shard.state == ShardState::done) {
    auto out = accepted();
    out["duplicate"] = true;
    return out;
  }
  std::uint64_t queries = 0;
  for (const auto q : outcome.batch_queries) queries += q;
  if (outcome.queries != shard.queries() || queries != shard.queries()) {
    return refused("the outcome's queries do not match the shard");
  }
  if (shard.redo) {
    // Its queries and statistics were counted by its first completion.
    shard.state = ShardState::done;
    shard.redo = false;
    shard.worker = outcome.worker;
    shard.results_version = outcome.results_version;
    auto out = accepted();
    out["all_done"] = job.all_done();
    return out;
  }
  if (shard.state == ShardState::queued) {
    // A lease given back (presumed dead, timed out) finished after all: its
    // bytes are the shard's, so it counts; the job gets its service back.
    job.vtime += static_cast<double>(shard.queries()) / static_cast<double>(job.share);
  }
  shard.state = ShardState::done;
  shard.worker = outcome.worker;
  shard.results_version = outcome.results_version;
  job.done += shard.queries();
  job.labelled += outcome.labelled;
  job.correct += outcome.correct;
  // The worker runs a shard's batches one after another, so batch i ended
  // the later batches' time before the shard did: the rate window counts
  // each batch's queries when they were done, not all at the shard's end.
  std::int64_t total_ns = 0;
  for (const auto ns : outcome.batch_ns) total_ns += std::max<std::int64_t>(0, ns);
  core::TimePoint at = core::TimePoint{std::chrono::milliseconds(outcome.finished_ms)} - core::Duration(total_ns);
  for (std::size_t i = 0; i < outcome.batch_ns.size(); ++i) {
    at += core::Duration(std::max<std::int64_t>(0, outcome.batch_ns[i]));
    job.stats.add_batch(at, outcome.batch_queries[i], core::Duration(outcome.batch_ns[i]));
  }
  job.stats.prune(core::TimePoint{std::chrono::milliseconds(time_ms_)});
  if (shard.queries() > 0 && total_ns > 0) {
    const double sample = static_cast<double>(total_ns) / static_cast<double>(shard.queries());
    const double smoothed =
        job.cost_ns == 0 ? sample : (1 - kCostWeight) * static_cast<double>(job.cost_ns) + kCostWeight * sample;
    job.cost_ns = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(smoothed));
  }
  auto out = accepted();
  out["all_done"] = job.all_done();
  return out;
}

json::object JobTable::release(const json::object& command) {
  const std::string_view job_name = text_of(command, "job");
  std::uint64_t released = 0;
  if (job_name.empty()) {
    const std::string_view worker = text_of(command, "worker");
    if (worker.empty()) return refused("a release names a worker or a shard");
    for (auto& [name, job] : jobs_) {
      for (auto& [id, shard] : job.shards) {
        if (shard.state == ShardState::leased && shard.worker == worker) {
          requeue(job, shard);
          ++released;
        }
      }
      auto& group = job.train.group;
      if (std::find(group.begin(), group.end(), worker) != group.end()) {
        group.clear();
        ++released;
      }
    }
  } else {
    const auto it = jobs_.find(job_name);
    if (it == jobs_.end()) return refused("no such job");
    if (it->second.is_train()) {
      TrainEntry& t = it->second.train;
      if (!t.group.empty() && number_of(command, "attempt") == t.attempt) {
        t.group.clear();
        ++released;
      }
      auto out = accepted();
      out["released"] = released;
      return out;
    }
    const auto id = number_of(command, "shard");
    const auto attempt = number_of(command, "attempt");
    const auto shard = id ? it->second.shards.find(*id) : it->second.shards.end();
    if (shard == it->second.shards.end()) return refused("no such shard");
    if (shard->second.state == ShardState::leased && attempt == shard->second.attempt) {
      requeue(it->second, shard->second);
      ++released;
    }
  }
  auto out = accepted();
  out["released"] = released;
  return out;
}

json::object JobTable::redo(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  if (job.state == JobState::done || job.state == JobState::failed) return refused("the job has ended");
  const auto id = number_of(command, "shard");
  const auto shard = id ? job.shards.find(*id) : job.shards.end();
  if (shard == job.shards.end()) return refused("no such shard");
  if (shard->second.state != ShardState::done) return refused("the shard is not done");
  shard->second.state = ShardState::queued;
  shard->second.redo = true;
  shard->second.worker.clear();
  job.vtime -= static_cast<double>(shard->second.queries()) / static_cast<double>(job.share);
  return accepted();
}

json::object JobTable::finish(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  if (job.state == JobState::done || job.state == JobState::failed) {
    auto out = accepted();
    out["duplicate"] = true;
    return out;
  }
  const std::string_view reason = text_of(command, "reason");
  if (reason.empty()) {
    if (job.is_train()) return refused("a training job finishes with its last epoch");
    if (!job.all_done()) return refused("the job has queries left");
    job.results_version = number_of(command, "results_version").value_or(0);
    job.state = JobState::done;
  } else {
    job.state = JobState::failed;
    job.reason = std::string(reason);
    for (auto& [id, shard] : job.shards) {
      if (shard.state == ShardState::leased) requeue(job, shard);
    }
    job.train.group.clear();
  }
  job.finished_ms = number_of(command, "at_ms").value_or(time_ms_);
  return accepted();
}

json::object JobTable::train_lease(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  if (!job.is_train()) return refused("not a training job");
  if (job.state != JobState::running) return refused("the job is not running");
  TrainEntry& t = job.train;
  if (!t.group.empty()) return refused("the job is leased already");
  std::vector<std::string> group;
  const auto* workers = command.if_contains("group");
  if (workers != nullptr && workers->is_array()) {
    for (const auto& worker : workers->get_array()) {
      if (!worker.is_string() || worker.get_string().empty()) return refused("a group names its workers");
      group.emplace_back(worker.get_string());
    }
  }
  if (group.size() != t.workers) return refused("the group must have " + std::to_string(t.workers) + " workers");
  std::vector<std::string> sorted = group;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return refused("a worker appears twice");
  t.group = std::move(group);
  t.attempt += 1;
  t.tries += 1;
  t.leased_ms = number_of(command, "at_ms").value_or(time_ms_);
  auto out = accepted();
  out["attempt"] = t.attempt;
  out["epoch"] = t.epochs_done() + 1;
  out["tries"] = t.tries;
  return out;
}

json::object JobTable::epoch(const json::object& command) {
  const auto it = jobs_.find(text_of(command, "job"));
  if (it == jobs_.end()) return refused("no such job");
  JobEntry& job = it->second;
  if (!job.is_train()) return refused("not a training job");
  TrainEntry& t = job.train;
  EpochEntry record;
  try {
    record = epoch_from_json(command.at("record"));
  } catch (const std::exception& error) {
    return refused(std::string("bad epoch: ") + error.what());
  }
  if (record.epoch >= 1 && record.epoch <= t.epochs_done()) {
    auto out = accepted();
    out["duplicate"] = true;
    return out;
  }
  if (job.state != JobState::running || t.group.empty() || number_of(command, "attempt") != t.attempt) {
    return refused("the lease is not current");
  }
  if (record.epoch != t.epochs_done() + 1) return refused("the epoch does not continue the history");
  if (record.checkpoint_version == 0) return refused("an epoch names its checkpoint");
  const std::uint64_t at = number_of(command, "at_ms").value_or(time_ms_);
  t.history.push_back(record);
  t.tries = 0;
  t.leased_ms = at;  // the lease lives on while epochs arrive
  auto out = accepted();
  if (t.epochs_done() == t.epochs) {
    const auto model_version = number_of(command, "model_version").value_or(0);
    if (model_version == 0) {
      t.history.pop_back();
      return refused("the last epoch names the trained model's version");
    }
    t.model_version = model_version;
    t.group.clear();
    job.state = JobState::done;
    job.finished_ms = at;
    out["done"] = true;
  }
  return out;
}

}  // namespace idunno::ml::jobs
