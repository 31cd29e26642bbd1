#include "ml/jobs/job_table_codec.hpp"

#include <boost/json.hpp>
#include <array>
#include <stdexcept>

namespace idunno::ml::jobs {

namespace json = boost::json;

namespace {

constexpr std::uint64_t kSnapshotVersion = 1;

template <typename Enum, std::size_t N>
std::optional<Enum> enum_from(std::string_view text, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 3> kPhases{"stopped", "infer", "train"};
constexpr std::array<std::string_view, 5> kJobStates{"queued", "running", "paused", "done", "failed"};
constexpr std::array<std::string_view, 3> kShardStates{"queued", "leased", "done"};

std::uint64_t u64_or(const json::object& o, const char* key, std::uint64_t fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_uint64() && !(v->is_int64() && v->get_int64() >= 0)) {
    throw std::invalid_argument(std::string(key) + " is not an unsigned integer");
  }
  return v->to_number<std::uint64_t>();
}

std::string string_or(const json::object& o, const char* key, std::string fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) throw std::invalid_argument(std::string(key) + " is not a string");
  return std::string(v->get_string());
}

json::value shard_to_json(std::uint64_t id, const ShardEntry& shard) {
  return json::object{{"id", id},
                      {"begin", shard.begin},
                      {"end", shard.end},
                      {"batch", shard.batch},
                      {"state", to_string(shard.state)},
                      {"worker", shard.worker},
                      {"attempt", shard.attempt},
                      {"leased_ms", shard.leased_ms},
                      {"results_version", shard.results_version},
                      {"redo", shard.redo}};
}

std::pair<std::uint64_t, ShardEntry> shard_from_json(const json::value& value) {
  const auto& o = value.as_object();
  ShardEntry shard;
  shard.begin = u64_or(o, "begin", 0);
  shard.end = u64_or(o, "end", 0);
  shard.batch = u64_or(o, "batch", 0);
  const auto state = enum_from<ShardState>(string_or(o, "state", ""), kShardStates);
  if (!state || shard.end < shard.begin || shard.batch == 0) throw std::invalid_argument("bad shard");
  shard.state = *state;
  shard.worker = string_or(o, "worker", "");
  shard.attempt = u64_or(o, "attempt", 0);
  shard.leased_ms = u64_or(o, "leased_ms", 0);
  shard.results_version = u64_or(o, "results_version", 0);
  if (const auto* redo = o.if_contains("redo")) shard.redo = redo->is_bool() && redo->get_bool();
  return {u64_or(o, "id", 0), shard};
}

double double_or(const json::object& o, const char* key, double fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) throw std::invalid_argument(std::string(key) + " is not a number");
  return v->to_number<double>();
}

json::value train_to_json(const TrainEntry& train) {
  json::array history;
  for (const auto& epoch : train.history) history.push_back(epoch_to_json(epoch));
  json::array group;
  for (const auto& worker : train.group) group.emplace_back(worker);
  json::object out{{"epochs", train.epochs},
                   {"optimizer", train.optimizer},
                   {"lr", train.lr},
                   {"lr_decay", train.lr_decay},
                   {"schedule", train.schedule},
                   {"weight_decay", train.weight_decay},
                   {"workers", train.workers},
                   {"seed", train.seed},
                   {"augment_flip", train.augment_flip},
                   {"augment_shift", train.augment_shift},
                   {"history", std::move(history)},
                   {"group", std::move(group)},
                   {"attempt", train.attempt},
                   {"leased_ms", train.leased_ms},
                   {"tries", train.tries},
                   {"checkpoint", train.checkpoint},
                   {"model_out", train.model_out},
                   {"model_version", train.model_version}};
  if (train.eval) out["eval"] = to_json(*train.eval);
  return out;
}

TrainEntry train_from_json(const json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) throw std::invalid_argument("train is an object");
  TrainEntry train;
  if (const auto* eval = o->if_contains("eval")) train.eval = dataset_ref_from_json(*eval);
  train.epochs = u64_or(*o, "epochs", 1);
  train.optimizer = string_or(*o, "optimizer", "sgd");
  train.lr = double_or(*o, "lr", 0.01);
  train.lr_decay = double_or(*o, "lr_decay", 1.0);
  // Absent from a table written before schedules and weight decay: what
  // every job trained with then.
  train.schedule = string_or(*o, "schedule", "exponential");
  train.weight_decay = double_or(*o, "weight_decay", 0.0);
  train.workers = u64_or(*o, "workers", 1);
  train.seed = u64_or(*o, "seed", 1);
  if (const auto* flip = o->if_contains("augment_flip")) {
    if (!flip->is_bool()) throw std::invalid_argument("augment_flip is not a boolean");
    train.augment_flip = flip->as_bool();
  }
  train.augment_shift = u64_or(*o, "augment_shift", 0);
  if (const auto* history = o->if_contains("history")) {
    for (const auto& entry : history->as_array()) train.history.push_back(epoch_from_json(entry));
  }
  if (const auto* group = o->if_contains("group")) {
    for (const auto& worker : group->as_array()) train.group.emplace_back(worker.as_string());
  }
  train.attempt = u64_or(*o, "attempt", 0);
  train.leased_ms = u64_or(*o, "leased_ms", 0);
  train.tries = u64_or(*o, "tries", 0);
  train.checkpoint = string_or(*o, "checkpoint", "");
  train.model_out = string_or(*o, "model_out", "");
  train.model_version = u64_or(*o, "model_version", 0);
  return train;
}

}  // namespace

json::value epoch_to_json(const EpochEntry& epoch) {
  json::object out{{"epoch", epoch.epoch},
                   {"loss", epoch.loss},
                   {"images_per_s", epoch.images_per_s},
                   {"seconds", epoch.seconds},
                   {"checkpoint_version", epoch.checkpoint_version}};
  out["accuracy"] = epoch.accuracy ? json::value(*epoch.accuracy) : json::value(nullptr);
  return out;
}

EpochEntry epoch_from_json(const json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) throw std::invalid_argument("an epoch is an object");
  EpochEntry epoch;
  epoch.epoch = u64_or(*o, "epoch", 0);
  epoch.loss = double_or(*o, "loss", 0);
  if (const auto* accuracy = o->if_contains("accuracy"); accuracy != nullptr && !accuracy->is_null()) {
    epoch.accuracy = accuracy->to_number<double>();
  }
  epoch.images_per_s = double_or(*o, "images_per_s", 0);
  epoch.seconds = double_or(*o, "seconds", 0);
  epoch.checkpoint_version = u64_or(*o, "checkpoint_version", 0);
  return epoch;
}

std::string_view to_string(Phase phase) { return kPhases.at(static_cast<std::size_t>(phase)); }
std::string_view to_string(JobState state) { return kJobStates.at(static_cast<std::size_t>(state)); }
std::string_view to_string(ShardState state) { return kShardStates.at(static_cast<std::size_t>(state)); }

std::optional<Phase> phase_from(std::string_view text) {
  if (text == "stop") return Phase::stopped;
  return enum_from<Phase>(text, kPhases);
}

json::value job_to_json(const JobEntry& job) {
  json::array shards;
  for (const auto& [id, shard] : job.shards) shards.push_back(shard_to_json(id, shard));
  return json::object{{"name", job.name},
                      {"kind", job.kind},
                      {"model", to_json(job.model)},
                      {"data", to_json(job.data)},
                      {"batch", job.batch},
                      {"share", job.share},
                      {"state", to_string(job.state)},
                      {"reason", job.reason},
                      {"submitted_ms", job.submitted_ms},
                      {"finished_ms", job.finished_ms},
                      {"shards", std::move(shards)},
                      {"planned", job.planned},
                      {"done", job.done},
                      {"labelled", job.labelled},
                      {"correct", job.correct},
                      {"vtime", job.vtime},
                      {"cost_ns", job.cost_ns},
                      {"results", job.results},
                      {"results_version", job.results_version},
                      {"stats", job.stats.to_json()},
                      {"train", job.is_train() ? train_to_json(job.train) : json::value(nullptr)}};
}

JobEntry job_from_json(const json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) throw std::invalid_argument("a job is an object");
  JobEntry job;
  job.name = string_or(*o, "name", "");
  job.kind = string_or(*o, "kind", "infer");
  if (job.kind != "infer" && job.kind != "train") throw std::invalid_argument("kind is infer or train");
  job.model = model_ref_from_json(o->at("model"));
  job.data = dataset_ref_from_json(o->at("data"));
  job.batch = u64_or(*o, "batch", 0);
  job.share = u64_or(*o, "share", 1);
  const auto state = enum_from<JobState>(string_or(*o, "state", "queued"), kJobStates);
  if (!state) throw std::invalid_argument("bad job state");
  job.state = *state;
  job.reason = string_or(*o, "reason", "");
  job.submitted_ms = u64_or(*o, "submitted_ms", 0);
  job.finished_ms = u64_or(*o, "finished_ms", 0);
  if (const auto* shards = o->if_contains("shards")) {
    for (const auto& entry : shards->as_array()) job.shards.insert(shard_from_json(entry));
  }
  job.planned = u64_or(*o, "planned", 0);
  job.done = u64_or(*o, "done", 0);
  job.labelled = u64_or(*o, "labelled", 0);
  job.correct = u64_or(*o, "correct", 0);
  if (const auto* vtime = o->if_contains("vtime")) job.vtime = vtime->to_number<double>();
  job.cost_ns = u64_or(*o, "cost_ns", 0);
  job.results = string_or(*o, "results", "");
  job.results_version = u64_or(*o, "results_version", 0);
  if (const auto* stats = o->if_contains("stats")) job.stats = JobStats::from_json(*stats);
  if (const auto* train = o->if_contains("train"); train != nullptr && !train->is_null()) {
    job.train = train_from_json(*train);
  }
  return job;
}

std::string JobTable::snapshot() const {
  json::array jobs;
  for (const auto& [name, job] : jobs_) jobs.push_back(job_to_json(job));
  return json::serialize(json::object{
      {"version", kSnapshotVersion}, {"phase", to_string(phase_)}, {"time_ms", time_ms_}, {"jobs", std::move(jobs)}});
}

void JobTable::restore(std::string_view snapshot) {
  if (snapshot.empty()) {
    *this = JobTable{};
    return;
  }
  JobTable fresh;
  try {
    const auto value = json::parse(snapshot);
    const auto& o = value.as_object();
    if (u64_or(o, "version", 0) != kSnapshotVersion) throw std::invalid_argument("unknown snapshot version");
    const auto phase = enum_from<Phase>(string_or(o, "phase", ""), kPhases);
    if (!phase) throw std::invalid_argument("bad phase");
    fresh.phase_ = *phase;
    fresh.time_ms_ = u64_or(o, "time_ms", 0);
    for (const auto& entry : o.at("jobs").as_array()) {
      auto job = job_from_json(entry);
      auto name = job.name;
      fresh.jobs_.emplace(std::move(name), std::move(job));
    }
  } catch (const std::exception& error) {
    throw std::invalid_argument(std::string("job table snapshot: ") + error.what());
  }
  *this = std::move(fresh);
}

json::object add_job_command(const JobEntry& job, std::uint64_t at_ms) {
  return json::object{{"op", "add"}, {"job", job_to_json(job)}, {"at_ms", at_ms}};
}

json::object remove_job_command(std::string_view job) { return json::object{{"op", "remove"}, {"job", job}}; }

json::object set_batch_command(std::string_view job, std::uint64_t batch) {
  return json::object{{"op", "set_batch"}, {"job", job}, {"batch", batch}};
}

json::object phase_command(Phase phase, std::uint64_t at_ms) {
  return json::object{{"op", "phase"}, {"phase", to_string(phase)}, {"at_ms", at_ms}};
}

json::object lease_command(std::string_view job, std::uint64_t shard, std::uint64_t begin, std::uint64_t end,
                           std::uint64_t batch, std::string_view worker, std::uint64_t at_ms) {
  return json::object{{"op", "lease"}, {"job", job},     {"shard", shard},   {"begin", begin},
                      {"end", end},    {"batch", batch}, {"worker", worker}, {"at_ms", at_ms}};
}

json::object complete_command(const ShardOutcome& outcome) {
  return json::object{{"op", "complete"}, {"outcome", to_json(outcome)}, {"at_ms", outcome.finished_ms}};
}

json::object release_command(std::string_view worker, std::uint64_t at_ms) {
  return json::object{{"op", "release"}, {"worker", worker}, {"at_ms", at_ms}};
}

json::object release_shard_command(std::string_view job, std::uint64_t shard, std::uint64_t attempt,
                                   std::uint64_t at_ms) {
  return json::object{{"op", "release"}, {"job", job}, {"shard", shard}, {"attempt", attempt}, {"at_ms", at_ms}};
}

json::object finish_command(std::string_view job, std::uint64_t results_version, std::uint64_t at_ms) {
  return json::object{{"op", "finish"}, {"job", job}, {"results_version", results_version}, {"at_ms", at_ms}};
}

json::object redo_shard_command(std::string_view job, std::uint64_t shard, std::uint64_t at_ms) {
  return json::object{{"op", "redo"}, {"job", job}, {"shard", shard}, {"at_ms", at_ms}};
}

json::object fail_command(std::string_view job, std::string_view reason, std::uint64_t at_ms) {
  return json::object{{"op", "finish"}, {"job", job}, {"reason", reason}, {"at_ms", at_ms}};
}

}  // namespace idunno::ml::jobs

namespace idunno::ml::jobs {

json::object train_lease_command(std::string_view job, const std::vector<std::string>& group, std::uint64_t at_ms) {
  json::array workers;
  for (const auto& worker : group) workers.emplace_back(worker);
  return json::object{{"op", "train_lease"}, {"job", job}, {"group", std::move(workers)}, {"at_ms", at_ms}};
}

json::object epoch_command(std::string_view job, std::uint64_t attempt, const EpochEntry& epoch,
                           std::uint64_t model_version, std::uint64_t at_ms) {
  return json::object{{"op", "epoch"},
                      {"job", job},
                      {"attempt", attempt},
                      {"record", epoch_to_json(epoch)},
                      {"model_version", model_version},
                      {"at_ms", at_ms}};
}

json::object release_train_command(std::string_view job, std::uint64_t attempt, std::uint64_t at_ms) {
  return json::object{{"op", "release"}, {"job", job}, {"attempt", attempt}, {"at_ms", at_ms}};
}

}  // namespace idunno::ml::jobs
