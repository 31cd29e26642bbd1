// JobService's commands: sub, remove, set-batch, phase and the reads
// job-rates, get-stats, get-results and vm-states (CONTRACT.md).

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include "cli/commands/command_table.hpp"
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "cli/inflated_copies.hpp"
#include "cli/job_service.hpp"
#include "cli/shard_runner.hpp"
#include "core/wall_clock.hpp"
#include "core/logging.hpp"
#include "fs/sdfs_local.hpp"
#include "ml/base/gzip.hpp"
#include "ml/base/idx.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/jobs/job_table_codec.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 10s;
constexpr std::string_view kSdfsPrefix = "sdfs:";

json::object without_ok(json::object reply) {
  reply.erase("ok");
  return reply;
}

void check_job_name(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) throw CommandError("a job name is not empty and has no '/'");
}

// What `train` uses for what the user leaves out: per zoo model, settings
// that reach the accuracy the field expects for it on Fashion-MNIST-sized
// data (README "Training jobs"); for other models a cautious Adam.
struct TrainDefaults {
  std::string optimizer;
  double lr;
  double lr_decay;
  std::uint64_t batch;
  std::uint64_t epochs;
  bool augment_flip = false;
  std::uint64_t augment_shift = 0;
  std::string schedule = "exponential";
  double weight_decay = 0;
};

TrainDefaults train_defaults(const ml::jobs::ModelRef& model) {
  if (model.zoo && model.name == "lenet") return {"adam", 0.002, 0.7, 32, 5};
  // Mirroring and 2-pixel moves keep the residual network from fitting
  // the training set's exact pixels; the cosine schedule and weight decay
  // reach in 8 epochs what 0.8^(epoch - 1) without it reached in 14.
  if (model.zoo && model.name == "resnet-fmnist") return {"sgd", 0.05, 1.0, 64, 8, true, 2, "cosine", 5e-4};
  if (model.zoo && model.name == "resnet18") return {"sgd", 0.01, 0.8, 16, 1};
  return {"adam", 0.001, 1.0, 64, 1};
}

double parse_rate(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(value > 0) || value > 10) {
    throw CommandError("--lr takes a learning rate in (0, 10]");
  }
  return value;
}

}  // namespace

asio::awaitable<json::object> JobService::read(json::object query) {
  std::string reply_text;
  std::string failure;
  try {
    reply_text = co_await coordinator_.raft().read("jobs", json::serialize(query), kTimeout);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty()) throw CommandError("the coordinator did not answer: " + failure);
  auto reply = json::parse(reply_text).as_object();
  if (!reply.at("ok").as_bool()) throw CommandError(std::string(reply.at("error").as_string()));
  co_return without_ok(std::move(reply));
}

asio::awaitable<json::object> JobService::submit(json::object command) {
  std::string reply_text;
  std::string failure;
  try {
    reply_text = co_await coordinator_.raft().submit("jobs", json::serialize(command), kTimeout);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty()) throw CommandError("the coordinator did not take the command: " + failure);
  auto reply = json::parse(reply_text).as_object();
  if (!reply.at("ok").as_bool()) throw CommandError(std::string(reply.at("error").as_string()));
  co_return without_ok(std::move(reply));
}

asio::awaitable<ml::jobs::DatasetRef> JobService::resolve_dataset(std::string data) {
  fs::Sdfs& sdfs = sdfs_.sdfs();
  std::string name;
  std::optional<std::string> labels;
  std::string failure;
  try {
    if (data.starts_with(kSdfsPrefix)) {
      name = data.substr(kSdfsPrefix.size());
      labels = ml::labels_name_for(name);
    } else {
      // A path on this node: its images file (and the labels file beside
      // it) go to SDFS as data/FILENAME first.
      if (!std::filesystem::is_regular_file(data)) throw CommandError("no such dataset file: " + data);
      name = "data/" + std::filesystem::path(data).filename().string();
      co_await sdfs_.put_local(data, name);
      if (const auto local_labels = ml::labels_path_for(data)) {
        labels = "data/" + std::filesystem::path(*local_labels).filename().string();
        co_await sdfs_.put_local(*local_labels, *labels);
      } else {
        labels.reset();
      }
    }
  } catch (const fs::SdfsError& error) {
    failure = error.what();
  }
  if (!failure.empty()) throw CommandError(failure);

  ml::jobs::DatasetRef ref;
  ref.images = name;
  fs::NamedVersion images;
  try {
    images = co_await sdfs.stat(name);
  } catch (const fs::SdfsError& error) {
    failure = "unknown dataset '" + name + "': " + error.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  ref.images_version = images.entry.version;
  // The header says how many queries and how big each is; of a gzip'd
  // file, the first 64 KiB inflate to far more than a header.
  std::string head =
      co_await sdfs_fetch(&sdfs, name, images.entry.version, 0, std::min<std::uint64_t>(images.entry.size, 64 << 10));
  bool compressed = false;
  try {
    if (ml::is_gzip(head)) {
      compressed = true;
      head = ml::gunzip_prefix(head, name, 64);
    } else {
      head.resize(std::min<std::size_t>(head.size(), 64));
    }
    const ml::IdxHeader header = ml::parse_idx_header(head, name);
    if (header.dims.size() < 2) throw std::runtime_error(name + " is not an IDX images file");
    ref.queries = header.count();
    ref.images_header = header.header_bytes;
    ref.item_bytes = header.item_bytes();
  } catch (const std::exception& error) {
    failure = "the dataset " + name + " is not an IDX images file: " + error.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  if (compressed) {
    // Workers range-read their shards from a plain copy, made once.
    const fs::NamedVersion copy =
        co_await inflated(images, ref.images_header + (ref.queries * ref.item_bytes), "the dataset " + name);
    ref.images = copy.name;
    ref.images_version = copy.entry.version;
  }
  if (labels) {
    std::optional<fs::NamedVersion> found;
    try {
      found = co_await sdfs.stat(*labels);
    } catch (const fs::SdfsError& /*missing*/) {
      found.reset();  // unlabelled: no accuracy
    }
    if (found) {
      constexpr std::uint64_t kLabelsHeader = 8;  // IDX1: magic, count
      const std::string magic = co_await sdfs_fetch(&sdfs, found->name, found->entry.version, 0,
                                                    std::min<std::uint64_t>(found->entry.size, 2));
      if (ml::is_gzip(magic)) {
        found = co_await inflated(*found, kLabelsHeader + ref.queries, "the labels of " + name);
      }
      ref.labels = found->name;
      ref.labels_version = found->entry.version;
      ref.labels_header = kLabelsHeader;
    }
  }
  co_return ref;
}

asio::awaitable<ml::jobs::ModelRef> JobService::resolve_model(std::string model, ml::jobs::DatasetRef data) {
  ml::Engine* engine = executor_service_.engine();
  if (engine == nullptr) throw CommandError("this node has no ML engine: " + executor_service_.problem());
  for (const auto& info : engine->models()) {
    if (info.name == model && info.source == ml::ModelSource::zoo) {
      // A zoo model's input must fit the dataset's images.
      const auto elements = static_cast<std::uint64_t>(info.input.elements());
      if (data.item_bytes != 0 && elements != data.item_bytes) {
        throw CommandError("the model " + model + " takes " + ml::to_string(info.input) + " inputs; the images of " +
                           data.images + " have " + std::to_string(data.item_bytes) + " pixels");
      }
      co_return ml::jobs::ModelRef{model, true, 1, 0};
    }
  }
  std::string failure;
  fs::NamedVersion found;
  try {
    found = co_await sdfs_.sdfs().stat(model);
  } catch (const fs::SdfsError& /*missing*/) {
    failure = "unknown model '" + model + "': neither a zoo model (see `models`) nor an SDFS file";
  }
  if (!failure.empty()) throw CommandError(failure);
  co_return ml::jobs::ModelRef{model, false, 0, found.entry.version};
}

// sub JOB DATA BATCH [--model MODEL] [--share W]
asio::awaitable<json::value> JobService::sub(std::vector<std::string> args) {
  ml::jobs::JobEntry job;
  job.name = args.at(0);
  std::string model = args.at(0);
  const auto batch = parse_unsigned(args.at(2));
  if (!batch || *batch == 0) throw CommandError("BATCH must be a batch size of at least 1");
  job.batch = *batch;
  for (std::size_t i = 3; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) throw CommandError(args[i] + " needs a value");
    if (args[i] == "--model") {
      model = args[i + 1];
    } else if (args[i] == "--share") {
      const auto share = parse_unsigned(args[i + 1]);
      if (!share || *share == 0) throw CommandError("--share takes a whole number of at least 1");
      job.share = *share;
    } else {
      throw CommandError("unknown option " + args[i] + " (usage: sub JOB DATA BATCH [--model MODEL] [--share W])");
    }
  }
  check_job_name(job.name);
  if (table_.job(job.name) != nullptr) throw CommandError("a job named '" + job.name + "' exists already");
  job.data = co_await resolve_dataset(args.at(1));
  if (job.batch > job.data.queries) {
    throw CommandError("the batch size " + std::to_string(job.batch) + " is larger than the dataset (" +
                       std::to_string(job.data.queries) + " queries)");
  }
  job.model = co_await resolve_model(model, job.data);
  auto reply = co_await submit(ml::jobs::add_job_command(job, core::wall_clock_ms()));
  co_return json::object{{"job", job.name}, {"kind", "infer"}, {"state", reply.at("state")}};
}

// train JOB --model MODEL --data DATASET [--eval DATASET] [--epochs E]
//       [--batch B] [--lr LR] [--workers K] [--seed S]
asio::awaitable<json::value> JobService::train(std::vector<std::string> args) {
  constexpr const char* kUsage =
      " (usage: train JOB --model MODEL --data DATASET [--eval DATASET] [--epochs E] [--batch B] [--lr LR] "
      "[--workers K] [--seed S])";
  ml::jobs::JobEntry job;
  job.name = args.at(0);
  job.kind = "train";
  check_job_name(job.name);
  std::map<std::string, std::string> given;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    static const std::set<std::string> known{"--model", "--data", "--eval",    "--epochs",
                                             "--batch", "--lr",   "--workers", "--seed"};
    if (!known.contains(args[i])) throw CommandError("unknown option " + args[i] + kUsage);
    if (i + 1 >= args.size()) throw CommandError(args[i] + " needs a value");
    given[args[i]] = args[i + 1];
  }
  if (!given.contains("--model") || !given.contains("--data"))
    throw CommandError(std::string("--model and --data are required") + kUsage);
  const auto whole = [&given](const char* key, std::uint64_t low, std::uint64_t high) -> std::optional<std::uint64_t> {
    const auto it = given.find(key);
    if (it == given.end()) return std::nullopt;
    const auto value = parse_unsigned(it->second);
    if (!value || *value < low || *value > high) {
      throw CommandError(std::string(key) + " takes a whole number from " + std::to_string(low) + " to " +
                         std::to_string(high));
    }
    return value;
  };
  const auto epochs = whole("--epochs", 1, 1000);
  const auto batch = whole("--batch", 1, 1U << 20);
  const auto workers = whole("--workers", 1, 64);
  const auto seed = whole("--seed", 0, std::numeric_limits<std::uint32_t>::max());
  std::optional<double> lr;
  if (given.contains("--lr")) lr = parse_rate(given["--lr"]);
  if (table_.job(job.name) != nullptr) throw CommandError("a job named '" + job.name + "' exists already");
  job.train.workers = workers.value_or(1);
  const std::size_t live = workers_count();
  if (job.train.workers > live) {
    throw CommandError("--workers " + std::to_string(job.train.workers) + " is more than the " + std::to_string(live) +
                       " live workers (every node but the coordinator)");
  }

  job.data = co_await resolve_dataset(given["--data"]);
  if (!job.data.labels)
    throw CommandError("the dataset " + job.data.images + " has no labels file; training needs labels");
  if (given.contains("--eval")) {
    ml::jobs::DatasetRef eval = co_await resolve_dataset(given["--eval"]);
    if (!eval.labels) throw CommandError("the eval set " + eval.images + " has no labels file");
    if (eval.item_bytes != job.data.item_bytes && !eval.compressed && !job.data.compressed) {
      throw CommandError("the eval set's images differ in size from the training set's");
    }
    job.train.eval = std::move(eval);
  }
  job.model = co_await resolve_model(given["--model"], job.data);
  // The seed draws a zoo model's initial weights and every epoch's order
  // and augmentation; the same seed gives the same run.
  if (seed) {
    job.train.seed = *seed;
    if (job.model.zoo) job.model.seed = *seed;
  }
  const TrainDefaults defaults = train_defaults(job.model);
  // On K workers each rank takes the default batch, so the group's batch
  // is K times larger, and the default learning rate grows with it (the
  // linear scaling rule): K times fewer steps, each all-reducing once.
  job.batch = batch.value_or(defaults.batch);
  job.train.epochs = epochs.value_or(defaults.epochs);
  job.train.lr = lr.value_or(defaults.lr * static_cast<double>(job.train.workers));
  job.train.lr_decay = defaults.lr_decay;
  job.train.schedule = defaults.schedule;
  job.train.weight_decay = defaults.weight_decay;
  job.train.optimizer = defaults.optimizer;
  job.train.augment_flip = defaults.augment_flip;
  job.train.augment_shift = defaults.augment_shift;
  if (job.batch * job.train.workers > job.data.queries) {
    throw CommandError("the batch size " + std::to_string(job.batch) + " on " + std::to_string(job.train.workers) +
                       " workers is larger than the dataset (" + std::to_string(job.data.queries) + " images)");
  }
  auto reply = co_await submit(ml::jobs::add_job_command(job, core::wall_clock_ms()));
  co_return json::object{{"job", job.name}, {"kind", "train"}, {"state", reply.at("state")}};
}

asio::awaitable<json::value> JobService::remove(std::vector<std::string> args) {
  co_await submit(ml::jobs::remove_job_command(args.at(0)));
  starts_->spawn(remove_shard_results(args[0]), "remove shard results");
  co_return json::object{{"job", args[0]}, {"removed", true}};
}

asio::awaitable<json::value> JobService::set_batch(std::vector<std::string> args) {
  const auto batch = parse_unsigned(args.at(1));
  if (!batch || *batch == 0) throw CommandError("BATCH must be a batch size of at least 1");
  co_await submit(ml::jobs::set_batch_command(args.at(0), *batch));
  co_return json::object{{"job", args[0]}, {"batch", *batch}};
}

asio::awaitable<json::value> JobService::phase(std::vector<std::string> args) {
  const auto phase = ml::jobs::phase_from(args.at(0));
  if (!phase || args[0] == "stopped") throw CommandError("usage: phase train|infer|stop");
  auto reply = co_await submit(ml::jobs::phase_command(*phase, core::wall_clock_ms()));
  co_return json::object{{"phase", reply.at("phase")}};
}

// Per-job series carry the job as `job_name`: Prometheus attaches its own
// `job` label (the scrape job) to every series it scrapes.
void JobService::write_metrics(core::MetricsWriter& w) const {
  using ml::jobs::JobState;
  if (!leading_) return;
  static const std::vector<double> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10};
  for (const auto phase : {ml::jobs::Phase::stopped, ml::jobs::Phase::infer, ml::jobs::Phase::train}) {
    w.gauge("jobs_phase", "the cluster's phase (1 for the current one)", table_.phase() == phase ? 1.0 : 0.0,
            {{"phase", std::string(ml::jobs::to_string(phase))}});
  }
  const core::TimePoint now{std::chrono::milliseconds(core::wall_clock_ms())};
  for (const auto& [name, job] : table_.jobs()) {
    for (const auto state :
         {JobState::queued, JobState::running, JobState::paused, JobState::done, JobState::failed}) {
      w.gauge("job_state", "each job's state (1 for the current one)", job.state == state ? 1.0 : 0.0,
              {{"job_name", name}, {"kind", job.kind}, {"state", std::string(ml::jobs::to_string(state))}});
    }
    if (job.is_train()) {
      const auto& t = job.train;
      w.gauge("job_training_epochs", "epochs a training job asks for", static_cast<double>(t.epochs), {{"job_name", name}});
      w.counter("job_training_epochs_done_total", "epochs a training job finished",
                static_cast<double>(t.epochs_done()), {{"job_name", name}});
      if (!t.history.empty()) {
        const auto& last = t.history.back();
        w.gauge("job_training_loss", "training loss of the job's last epoch", last.loss, {{"job_name", name}});
        if (last.accuracy) {
          w.gauge("job_training_accuracy_ratio", "held-out accuracy after the job's last epoch", *last.accuracy,
                  {{"job_name", name}});
        }
        w.gauge("job_training_images_per_second", "training images/s of the job's last epoch", last.images_per_s,
                {{"job_name", name}});
      }
      continue;
    }
    w.gauge("job_queries", "queries in an inference job", static_cast<double>(job.total()), {{"job_name", name}});
    w.counter("job_queries_done_total", "queries of an inference job completed", static_cast<double>(job.done),
              {{"job_name", name}});
    w.gauge("job_query_rate_10s", "queries/s completed over the last 10 s", job.stats.rate_at(now), {{"job_name", name}});
    core::HistogramValue histogram;
    const auto counts = job.stats.counts_at_most(kBounds);
    for (std::size_t i = 0; i < kBounds.size(); ++i) histogram.buckets.emplace_back(kBounds[i], counts[i]);
    histogram.sum = job.stats.total_seconds();
    histogram.count = job.stats.done();
    w.histogram("job_processing_seconds", "processing time of each query (its batch's wall time)", histogram,
                {{"job_name", name}});
  }
}

asio::awaitable<json::value> JobService::job_rates(std::vector<std::string> /*args*/) {
  json::object query;
  query["q"] = "rates";
  query["now_ms"] = core::wall_clock_ms();
  auto reply = co_await read(std::move(query));
  co_return reply;
}

asio::awaitable<json::value> JobService::get_stats(std::vector<std::string> args) {
  json::object query;
  query["q"] = "stats";
  if (!args.empty()) query["job"] = args[0];
  co_return co_await read(std::move(query));
}

asio::awaitable<json::value> JobService::get_results(std::vector<std::string> args) {
  json::object query;
  query["q"] = "job";
  query["job"] = args.at(0);
  auto reply = co_await read(std::move(query));
  const bool training = reply.at("kind").as_string() == "train";
  if (reply.at("done").to_number<std::uint64_t>() == 0 && !training) {
    throw CommandError("the job " + args[0] + " has no query done yet");
  }
  const std::uint64_t version = reply.at("results_version").to_number<std::uint64_t>();
  if (args.size() < 2) co_return reply;
  if (version == 0) {
    throw CommandError("the job " + args[0] +
                       " is not done yet: " + (training ? "its model is not trained" : "its results are not merged"));
  }
  std::string failure;
  try {
    fs::Sdfs& sdfs = sdfs_.sdfs();
    const fs::NamedVersion found = co_await sdfs.stat(std::string(reply.at("results").as_string()), version);
    co_await sdfs_.get_local(found, args[1]);
  } catch (const fs::SdfsError& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  reply["path"] = args[1];
  co_return reply;
}

asio::awaitable<json::value> JobService::vm_states(std::vector<std::string> /*args*/) {
  json::object query;
  query["q"] = "workers";
  const auto reply = co_await read(std::move(query));
  const auto& leases = reply.at("workers").as_object();
  std::map<std::string, json::object> nodes;
  for (const auto& m : membership_.members()) {
    json::array jobs;
    json::value shard = nullptr;
    std::set<std::string> seen;
    if (const auto* held = leases.if_contains(m.id.name)) {
      for (const auto& entry : held->as_array()) {
        const std::string text(entry.as_string());
        if (shard.is_null()) shard = entry;
        const std::string job = text.substr(0, text.rfind('/'));
        if (seen.insert(job).second) jobs.emplace_back(job);
      }
    }
    nodes[m.id.name] = json::object{{"name", m.id.name},
                                    {"role", net::to_string(coordinator_.raft().role_of(m.id.name))},
                                    {"state", swim::to_string(m.state)},
                                    {"jobs", std::move(jobs)},
                                    {"shard", std::move(shard)}};
  }
  json::array out;
  for (auto& [name, node] : nodes) out.push_back(std::move(node));
  co_return json::object{{"phase", reply.at("phase")}, {"nodes", std::move(out)}};
}

}  // namespace idunno::cli
