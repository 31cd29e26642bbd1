#pragma once
// What the coordinator hands a worker for one shard of an inference job,
// and what the worker reports back: plain values with a JSON form (the
// "jobs.run" RPC carries a task; the job table's Complete command carries
// an outcome).
//
// Why: a shard's result must be a deterministic function of the shard
// (DESIGN.md 6), so a task pins everything that decides it: the model (a
// zoo name with its seed, or an SDFS file at a fixed version), the dataset
// files at fixed versions, the query range and the batch size. A re-run on
// another worker after a failure then writes the same bytes.
//
// Plain values; any thread.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace idunno::ml::jobs {

// The learning-rate schedules a training job names (ml::LrSchedule):
// "exponential" or "cosine".
inline bool is_lr_schedule(std::string_view name) { return name == "exponential" || name == "cosine"; }

// The model a job runs: a zoo architecture built from a fixed seed, or a
// TorchScript file in SDFS at one version.
struct ModelRef {
  std::string name;          // zoo name ("lenet") or SDFS name ("models/a")
  bool zoo = true;
  std::uint64_t seed = 1;     // zoo only
  std::uint64_t version = 0;  // SDFS only
  friend bool operator==(const ModelRef&, const ModelRef&) = default;
};

// An IDX dataset in SDFS, pinned to versions. A plain (uncompressed) images
// file is read by range (header, then the shard's items). `sub` and `train`
// pin a gzip'd file's plain copy (JobService::inflated), so `compressed` is
// true only in jobs added by nodes from before those copies: such a file is
// fetched whole once per worker.
struct DatasetRef {
  std::string images;
  std::uint64_t images_version = 0;
  std::optional<std::string> labels;  // the labels file, when there is one
  std::uint64_t labels_version = 0;
  bool compressed = false;
  std::uint64_t images_header = 0;  // plain only: bytes before item 0
  std::uint64_t item_bytes = 0;     // plain only: bytes per image
  std::uint64_t labels_header = 0;  // plain only: bytes before label 0
  std::uint64_t queries = 0;        // items in the dataset
  friend bool operator==(const DatasetRef&, const DatasetRef&) = default;
};

struct ShardTask {
  std::string job;
  std::uint64_t shard = 0;
  std::uint64_t attempt = 0;  // the lease this run belongs to
  ModelRef model;
  DatasetRef data;
  std::uint64_t begin = 0;  // query indices [begin, end)
  std::uint64_t end = 0;
  std::uint64_t batch = 0;
  std::string results;  // the SDFS name the shard's result lines go to
  friend bool operator==(const ShardTask&, const ShardTask&) = default;
};

// A finished shard, as its worker reports it.
struct ShardOutcome {
  std::string job;
  std::uint64_t shard = 0;
  std::uint64_t attempt = 0;
  std::string worker;
  std::uint64_t queries = 0;
  std::uint64_t labelled = 0;
  std::uint64_t correct = 0;
  // One entry per batch, in order: its wall time (ns) and its queries.
  std::vector<std::int64_t> batch_ns;
  std::vector<std::uint64_t> batch_queries;
  std::uint64_t results_version = 0;  // of ShardTask::results
  std::uint64_t finished_ms = 0;      // wall clock at the worker
  friend bool operator==(const ShardOutcome&, const ShardOutcome&) = default;
};

// What the coordinator hands each rank of a training job's group: the
// whole rest of the job (from the epoch after its last checkpoint to the
// end), and where the ranks meet (the rank-0 worker serves the rendezvous).
// Training itself is not bit-reproducible across group sizes, but a
// resumed run continues the numbering, shuffles and schedule exactly
// (ml/trainer.hpp).
struct TrainTask {
  std::string job;
  std::uint64_t attempt = 0;
  std::uint64_t tries = 1;  // leases since the job's last recorded epoch, this one included
  std::vector<std::string> group;  // rank order
  std::uint64_t rank = 0;
  std::uint64_t host_ranks = 1;  // ranks of the group on this rank's host (sharing its cores)
  std::string rendezvous_host;  // rank 0's host
  std::uint64_t rendezvous_port = 0;
  std::string bind_host;  // this rank's own host (Gloo's connections)
  ModelRef model;               // the starting model
  std::string checkpoint;       // SDFS name of the job's checkpoint
  std::uint64_t checkpoint_version = 0;  // 0: none yet, start from `model`
  std::uint64_t first_epoch = 1;
  std::uint64_t epochs = 1;  // the job's total
  DatasetRef data;
  std::optional<DatasetRef> eval;
  std::uint64_t batch = 0;  // per rank
  std::string optimizer = "sgd";
  double lr = 0.01;
  double lr_decay = 1;
  std::string schedule = "exponential";  // TrainEntry's
  double weight_decay = 0;
  std::uint64_t seed = 1;
  bool augment_flip = false;  // TrainEntry's augmentation
  std::uint64_t augment_shift = 0;
  std::string model_out;  // SDFS name of the trained model
  friend bool operator==(const TrainTask&, const TrainTask&) = default;
};

// One lease: a shard's (job, shard, attempt), or a training group's
// (job, 0, attempt). A worker answers "jobs.held" with the leases it
// holds: the shards it runs or is still reporting, its training ranks.
struct LeaseKey {
  std::string job;
  std::uint64_t shard = 0;
  std::uint64_t attempt = 0;
  auto operator<=>(const LeaseKey&) const = default;
};

boost::json::value to_json(const ModelRef& model);
boost::json::value to_json(const DatasetRef& data);
boost::json::value to_json(const ShardTask& task);
boost::json::value to_json(const ShardOutcome& outcome);
// Throw std::invalid_argument on a value of the wrong shape.
ModelRef model_ref_from_json(const boost::json::value& value);
DatasetRef dataset_ref_from_json(const boost::json::value& value);
ShardTask shard_task_from_json(const boost::json::value& value);
ShardOutcome shard_outcome_from_json(const boost::json::value& value);
boost::json::value to_json(const TrainTask& task);
TrainTask train_task_from_json(const boost::json::value& value);
boost::json::value to_json(const LeaseKey& lease);
LeaseKey lease_key_from_json(const boost::json::value& value);

}  // namespace idunno::ml::jobs
