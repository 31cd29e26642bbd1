#pragma once
// TrainRunner: the worker side of a training job, one rank of the group the
// coordinator leased the job to. It loads the training (and evaluation)
// set from SDFS, starts from the job's last checkpoint (or its starting
// model), joins the group's rendezvous when there is more than one rank,
// and trains the remaining epochs one by one on the ML engine. After each
// epoch rank 0 stores a checkpoint (the model and the optimizer's state)
// in SDFS and reports the epoch; after the last one it also stores the
// trained TorchScript module as the job's model.
//
// Why one epoch per engine run: an epoch is the unit of recovery. A rank
// that dies costs the group at most the epoch in progress; the next lease
// resumes after the last reported epoch from its checkpoint, with the
// numbering, shuffles, schedule and optimizer moments of an uninterrupted
// run (ml/trainer.hpp). The group is joined once per lease and kept across
// the epochs.
//
// Event loop only. The shard runner (for the engine, the model and dataset
// loading and SDFS) outlives this.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/cancel_token.hpp"
#include "ml/jobs/job_table.hpp"
#include "ml/jobs/shard_task.hpp"

namespace idunno::cli {

class ShardRunner;

// A checkpoint file: the model's TorchScript bytes and the optimizer's
// state, framed so that either can be taken back out.
std::string encode_checkpoint(std::string_view model, std::string_view optimizer_state);
// Throws std::runtime_error on bytes that are not a checkpoint.
std::pair<std::string, std::string> decode_checkpoint(std::string_view bytes);

class TrainRunner {
 public:
  // Rank 0's report of a finished epoch (with the trained model's version
  // after the last one, else 0); must not return before it is recorded.
  using EpochReport = std::function<boost::asio::awaitable<void>(ml::jobs::EpochEntry, std::uint64_t model_version)>;

  TrainRunner(ShardRunner& shards, std::string worker_name);

  // Trains task.first_epoch..task.epochs, on the engine's slots shared
  // with the group's other ranks on this host (task.host_ranks). Returns when every epoch is done or, once `stop` is
  // set, after the current step (the epoch in progress is not reported). Throws std::runtime_error naming what failed
  // (no engine, a model or dataset that does not load or fit, a rank that did not join or vanished, a failed SDFS
  // write).
  boost::asio::awaitable<void> run(ml::jobs::TrainTask task, core::CancelToken stop, EpochReport report);

 private:
  ShardRunner& shards_;
  std::string worker_name_;
};

}  // namespace idunno::cli
