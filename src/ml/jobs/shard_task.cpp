#include "ml/jobs/shard_task.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace idunno::ml::jobs {

namespace json = boost::json;

namespace {

const json::object& object_of(const json::value& value, const char* what) {
  const auto* object = value.if_object();
  if (object == nullptr) throw std::invalid_argument(std::string(what) + " is not an object");
  return *object;
}

const json::value& field(const json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) throw std::invalid_argument(std::string("missing field ") + key);
  return *value;
}

std::uint64_t u64(const json::object& object, const char* key) {
  const auto& value = field(object, key);
  if (const auto* u = value.if_uint64()) return *u;
  if (const auto* i = value.if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  throw std::invalid_argument(std::string("field ") + key + " is not an unsigned integer");
}

std::string str(const json::object& object, const char* key) {
  const auto* s = field(object, key).if_string();
  if (s == nullptr) throw std::invalid_argument(std::string("field ") + key + " is not a string");
  return std::string(*s);
}

bool boolean(const json::object& object, const char* key) {
  const auto* b = field(object, key).if_bool();
  if (b == nullptr) throw std::invalid_argument(std::string("field ") + key + " is not a boolean");
  return *b;
}

const json::array& array(const json::object& object, const char* key) {
  const auto* a = field(object, key).if_array();
  if (a == nullptr) throw std::invalid_argument(std::string("field ") + key + " is not an array");
  return *a;
}

double number(const json::object& object, const char* key) {
  const auto& value = field(object, key);
  if (!value.is_number()) throw std::invalid_argument(std::string("field ") + key + " is not a number");
  return value.to_number<double>();
}

}  // namespace

json::value to_json(const ModelRef& model) {
  return json::object{{"name", model.name}, {"zoo", model.zoo}, {"seed", model.seed}, {"version", model.version}};
}

json::value to_json(const DatasetRef& data) {
  json::object out{{"images", data.images},         {"images_version", data.images_version},
                   {"compressed", data.compressed}, {"images_header", data.images_header},
                   {"item_bytes", data.item_bytes}, {"labels_header", data.labels_header},
                   {"queries", data.queries}};
  if (data.labels) {
    out["labels"] = *data.labels;
    out["labels_version"] = data.labels_version;
  }
  return out;
}

json::value to_json(const ShardTask& task) {
  return json::object{{"job", task.job},
                      {"shard", task.shard},
                      {"attempt", task.attempt},
                      {"model", to_json(task.model)},
                      {"data", to_json(task.data)},
                      {"begin", task.begin},
                      {"end", task.end},
                      {"batch", task.batch},
                      {"results", task.results}};
}

json::value to_json(const ShardOutcome& outcome) {
  json::array ns;
  for (const auto t : outcome.batch_ns) ns.emplace_back(t);
  json::array queries;
  for (const auto q : outcome.batch_queries) queries.emplace_back(q);
  return json::object{{"job", outcome.job},
                      {"shard", outcome.shard},
                      {"attempt", outcome.attempt},
                      {"worker", outcome.worker},
                      {"queries", outcome.queries},
                      {"labelled", outcome.labelled},
                      {"correct", outcome.correct},
                      {"batch_ns", std::move(ns)},
                      {"batch_queries", std::move(queries)},
                      {"results_version", outcome.results_version},
                      {"finished_ms", outcome.finished_ms}};
}

ModelRef model_ref_from_json(const json::value& value) {
  const auto& o = object_of(value, "model");
  return ModelRef{str(o, "name"), boolean(o, "zoo"), u64(o, "seed"), u64(o, "version")};
}

DatasetRef dataset_ref_from_json(const json::value& value) {
  const auto& o = object_of(value, "data");
  DatasetRef out;
  out.images = str(o, "images");
  out.images_version = u64(o, "images_version");
  out.compressed = boolean(o, "compressed");
  out.images_header = u64(o, "images_header");
  out.item_bytes = u64(o, "item_bytes");
  out.labels_header = u64(o, "labels_header");
  out.queries = u64(o, "queries");
  if (o.contains("labels")) {
    out.labels = str(o, "labels");
    out.labels_version = u64(o, "labels_version");
  }
  return out;
}

ShardTask shard_task_from_json(const json::value& value) {
  const auto& o = object_of(value, "task");
  ShardTask out;
  out.job = str(o, "job");
  out.shard = u64(o, "shard");
  out.attempt = u64(o, "attempt");
  out.model = model_ref_from_json(field(o, "model"));
  out.data = dataset_ref_from_json(field(o, "data"));
  out.begin = u64(o, "begin");
  out.end = u64(o, "end");
  out.batch = u64(o, "batch");
  out.results = str(o, "results");
  if (out.begin > out.end || out.batch == 0) throw std::invalid_argument("task: bad range or batch");
  return out;
}

ShardOutcome shard_outcome_from_json(const json::value& value) {
  const auto& o = object_of(value, "outcome");
  ShardOutcome out;
  out.job = str(o, "job");
  out.shard = u64(o, "shard");
  out.attempt = u64(o, "attempt");
  out.worker = str(o, "worker");
  out.queries = u64(o, "queries");
  out.labelled = u64(o, "labelled");
  out.correct = u64(o, "correct");
  for (const auto& t : array(o, "batch_ns")) {
    if (!t.is_int64() && !t.is_uint64()) throw std::invalid_argument("batch_ns: not an integer");
    out.batch_ns.push_back(t.to_number<std::int64_t>());
  }
  for (const auto& q : array(o, "batch_queries")) {
    if (!q.is_int64() && !q.is_uint64()) throw std::invalid_argument("batch_queries: not an integer");
    out.batch_queries.push_back(q.to_number<std::uint64_t>());
  }
  if (out.batch_ns.size() != out.batch_queries.size()) throw std::invalid_argument("outcome: batch lists differ");
  out.results_version = u64(o, "results_version");
  out.finished_ms = u64(o, "finished_ms");
  return out;
}

json::value to_json(const TrainTask& task) {
  json::array group;
  for (const auto& worker : task.group) group.emplace_back(worker);
  json::object out{{"job", task.job},
                   {"attempt", task.attempt},
                   {"tries", task.tries},
                   {"group", std::move(group)},
                   {"rank", task.rank},
                   {"host_ranks", task.host_ranks},
                   {"rendezvous_host", task.rendezvous_host},
                   {"rendezvous_port", task.rendezvous_port},
                   {"bind_host", task.bind_host},
                   {"model", to_json(task.model)},
                   {"checkpoint", task.checkpoint},
                   {"checkpoint_version", task.checkpoint_version},
                   {"first_epoch", task.first_epoch},
                   {"epochs", task.epochs},
                   {"data", to_json(task.data)},
                   {"batch", task.batch},
                   {"optimizer", task.optimizer},
                   {"lr", task.lr},
                   {"lr_decay", task.lr_decay},
                   {"schedule", task.schedule},
                   {"weight_decay", task.weight_decay},
                   {"seed", task.seed},
                   {"augment_flip", task.augment_flip},
                   {"augment_shift", task.augment_shift},
                   {"model_out", task.model_out}};
  if (task.eval) out["eval"] = to_json(*task.eval);
  return out;
}

TrainTask train_task_from_json(const json::value& value) {
  const auto& o = object_of(value, "task");
  TrainTask out;
  out.job = str(o, "job");
  out.attempt = u64(o, "attempt");
  out.tries = u64(o, "tries");
  for (const auto& worker : array(o, "group")) {
    if (!worker.is_string()) throw std::invalid_argument("group: not a name");
    out.group.emplace_back(worker.get_string());
  }
  out.rank = u64(o, "rank");
  out.host_ranks = u64(o, "host_ranks");
  out.rendezvous_host = str(o, "rendezvous_host");
  out.rendezvous_port = u64(o, "rendezvous_port");
  out.bind_host = str(o, "bind_host");
  out.model = model_ref_from_json(field(o, "model"));
  out.checkpoint = str(o, "checkpoint");
  out.checkpoint_version = u64(o, "checkpoint_version");
  out.first_epoch = u64(o, "first_epoch");
  out.epochs = u64(o, "epochs");
  out.data = dataset_ref_from_json(field(o, "data"));
  if (o.contains("eval")) out.eval = dataset_ref_from_json(field(o, "eval"));
  out.batch = u64(o, "batch");
  out.optimizer = str(o, "optimizer");
  out.lr = number(o, "lr");
  out.lr_decay = number(o, "lr_decay");
  // Absent from a task of a node that predates schedules: exponential, no
  // weight decay.
  if (o.contains("schedule")) out.schedule = str(o, "schedule");
  if (o.contains("weight_decay")) out.weight_decay = number(o, "weight_decay");
  out.seed = u64(o, "seed");
  // Absent from a task of a node that predates augmentation: none.
  if (const auto* flip = o.if_contains("augment_flip"); flip != nullptr && flip->is_bool()) {
    out.augment_flip = flip->get_bool();
  }
  if (o.contains("augment_shift")) out.augment_shift = u64(o, "augment_shift");
  out.model_out = str(o, "model_out");
  if (out.augment_shift > 8) throw std::invalid_argument("task: augment_shift is over 8 pixels");
  if (!is_lr_schedule(out.schedule)) throw std::invalid_argument("task: unknown schedule");
  if (out.group.empty() || out.rank >= out.group.size() || out.batch == 0 || out.first_epoch == 0 ||
      out.first_epoch > out.epochs || out.rendezvous_port > 65535 || out.host_ranks == 0) {
    throw std::invalid_argument("task: bad group, rank, batch or epochs");
  }
  return out;
}

json::value to_json(const LeaseKey& lease) {
  return json::object{{"job", lease.job}, {"shard", lease.shard}, {"attempt", lease.attempt}};
}

LeaseKey lease_key_from_json(const json::value& value) {
  const auto& o = object_of(value, "lease");
  return LeaseKey{str(o, "job"), u64(o, "shard"), u64(o, "attempt")};
}

}  // namespace idunno::ml::jobs
