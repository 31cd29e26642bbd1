#pragma once
// Dynamic batching of online inference requests on a worker: concurrent
// requests for one model are run together as one batch.
//
// Why: a forward pass of 32 images costs far less than 32 passes of one,
// and online clients send few images at a time. As Triton's dynamic batcher
// does, a request waits at most `max_queue_delay` for others to join it,
// a batch holds at most `max_batch` images (a request bigger than that runs
// alone, never split), and while `max_in_flight` batches of a model are on
// the executor the queue only grows, so a busy model gets bigger batches
// without waiting any longer. Batches go to the executor like the batches
// of inference jobs (one slot each, first come first served), which is how
// online requests and jobs share a worker's cores.
//
// Event loop only. Construct, then call shutdown() before destroying it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/task_group.hpp"
#include "ml/base/batch.hpp"
#include "ml/base/results.hpp"
#include "ml/model.hpp"

namespace idunno::cli {

struct BatcherOptions {
  std::chrono::microseconds max_queue_delay{2000};
  std::size_t max_batch = 64;     // images per batch
  std::size_t max_in_flight = 1;  // batches of one model on the executor at once
};

class OnlineBatcher {
 public:
  // Runs one batch on the executor (ml::Engine::classify, or a fake).
  using RunBatch = std::function<boost::asio::awaitable<ml::BatchScores>(ml::ModelPtr model, ml::Batch batch)>;

  OnlineBatcher(boost::asio::any_io_executor executor, RunBatch run, BatcherOptions options);
  ~OnlineBatcher();
  OnlineBatcher(const OnlineBatcher&) = delete;
  OnlineBatcher& operator=(const OnlineBatcher&) = delete;

  // Queues `batch` (one request's images) for `model`, cached under `key`,
  // and returns the rows of its images. Throws what the batch's run threw
  // (every request of a failed batch gets the error), or operation_aborted
  // after shutdown().
  boost::asio::awaitable<ml::BatchScores> submit(std::string key, ml::ModelPtr model, ml::Batch batch);

  // Fails what is queued and waits for the batches running.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds grace);

  const BatcherOptions& options() const { return options_; }
  std::uint64_t batches_run() const { return batches_run_; }
  std::uint64_t images_run() const { return images_run_; }
  std::size_t largest_batch() const { return largest_batch_; }

 private:
  struct Pending;
  struct Queue;

  static boost::asio::awaitable<void> dispatch(OnlineBatcher* self, std::shared_ptr<Queue> queue);
  static boost::asio::awaitable<void> run_batch(OnlineBatcher* self, std::shared_ptr<Queue> queue,
                                                std::deque<std::shared_ptr<Pending>> taken);
  // Takes the next batch's requests off the front of the queue.
  std::deque<std::shared_ptr<Pending>> take(Queue& queue) const;

  boost::asio::any_io_executor executor_;
  RunBatch run_;
  BatcherOptions options_;
  std::map<std::string, std::shared_ptr<Queue>> queues_;  // by model key
  core::TaskGroup tasks_;                                 // dispatchers and running batches
  bool closed_ = false;
  std::uint64_t batches_run_ = 0;
  std::uint64_t images_run_ = 0;
  std::size_t largest_batch_ = 0;
};

}  // namespace idunno::cli
