#include "cli/online_batcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace idunno::cli {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

// One request waiting for its rows.
struct OnlineBatcher::Pending {
  Pending(ml::Batch b, const asio::any_io_executor& executor)
      : batch(std::move(b)), arrived(Clock::now()), done(executor, Clock::time_point::max()) {}
  ml::Batch batch;
  Clock::time_point arrived;
  asio::steady_timer done;  // cancelled when the rows (or the error) are in
  bool finished = false;
  ml::BatchScores rows;
  std::exception_ptr error;
};

// The requests of one model.
struct OnlineBatcher::Queue {
  explicit Queue(const asio::any_io_executor& executor) : wake(executor, Clock::time_point::max()) {}
  ml::ModelPtr model;
  std::deque<std::shared_ptr<Pending>> pending;
  std::size_t queued_images = 0;
  std::size_t in_flight = 0;
  asio::steady_timer wake;  // the dispatcher's: cancelled on news
  bool dispatching = false;
};

OnlineBatcher::OnlineBatcher(asio::any_io_executor executor, RunBatch run, BatcherOptions options)
    : executor_(executor), run_(std::move(run)), options_(options), tasks_(executor, "online-batcher") {
  if (options_.max_batch == 0) options_.max_batch = 1;
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
}

OnlineBatcher::~OnlineBatcher() = default;

asio::awaitable<ml::BatchScores> OnlineBatcher::submit(std::string key, ml::ModelPtr model, ml::Batch batch) {
  if (closed_) throw boost::system::system_error(asio::error::operation_aborted);
  auto& slot = queues_[key];
  if (!slot) slot = std::make_shared<Queue>(executor_);
  std::shared_ptr<Queue> queue = slot;
  queue->model = std::move(model);
  auto pending = std::make_shared<Pending>(std::move(batch), executor_);
  queue->pending.push_back(pending);
  queue->queued_images += pending->batch.size();
  if (!queue->dispatching) {
    queue->dispatching = true;
    tasks_.spawn(dispatch(this, queue), "online dispatch");
  } else if (queue->queued_images >= options_.max_batch) {
    queue->wake.cancel();
  }
  if (!pending->finished) co_await pending->done.async_wait(as_tuple(use_awaitable));
  // Cancelled while waiting: the request stays queued and its rows are
  // dropped when they come.
  if (!pending->finished) throw boost::system::system_error(asio::error::operation_aborted);
  if (pending->error) std::rethrow_exception(pending->error);
  co_return std::move(pending->rows);
}

std::deque<std::shared_ptr<OnlineBatcher::Pending>> OnlineBatcher::take(Queue& queue) const {
  std::deque<std::shared_ptr<Pending>> taken;
  std::size_t images = 0;
  while (!queue.pending.empty()) {
    const std::size_t next = queue.pending.front()->batch.size();
    if (!taken.empty() && images + next > options_.max_batch) break;
    images += next;
    queue.queued_images -= next;
    taken.push_back(std::move(queue.pending.front()));
    queue.pending.pop_front();
  }
  return taken;
}

asio::awaitable<void> OnlineBatcher::dispatch(OnlineBatcher* self, std::shared_ptr<Queue> queue) {
  const auto delay = std::chrono::duration_cast<Clock::duration>(self->options_.max_queue_delay);
  while (!queue->pending.empty() && !self->closed_) {
    if (queue->in_flight < self->options_.max_in_flight) {
      const auto deadline = queue->pending.front()->arrived + delay;
      if (queue->queued_images >= self->options_.max_batch || Clock::now() >= deadline) {
        ++queue->in_flight;
        self->tasks_.spawn(run_batch(self, queue, self->take(*queue)), "online batch");
        continue;
      }
      queue->wake.expires_at(deadline);
    } else {
      queue->wake.expires_at(Clock::time_point::max());
    }
    co_await queue->wake.async_wait(as_tuple(use_awaitable));
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) break;
  }
  queue->dispatching = false;
  // Shut down (or cancelled) with requests left: they fail.
  while (!queue->pending.empty()) {
    auto& p = queue->pending.front();
    p->error = std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted));
    p->finished = true;
    p->done.cancel();
    queue->queued_images -= p->batch.size();
    queue->pending.pop_front();
  }
}

asio::awaitable<void> OnlineBatcher::run_batch(OnlineBatcher* self, std::shared_ptr<Queue> queue,
                                               std::deque<std::shared_ptr<Pending>> taken) {
  // One batch of every request taken, in order (a single request as it is).
  ml::Batch batch;
  if (taken.size() == 1) {
    batch = std::move(taken.front()->batch);
  } else {
    batch.shape = taken.front()->batch.shape;
    std::size_t values = 0;
    for (const auto& p : taken) values += p->batch.values.size();
    batch.values.reserve(values);
    for (const auto& p : taken) {
      batch.values.insert(batch.values.end(), p->batch.values.begin(), p->batch.values.end());
      for (std::size_t i = 0; i < p->batch.size(); ++i) {
        batch.indices.push_back(static_cast<std::int64_t>(batch.indices.size()));
        batch.labels.push_back(-1);
      }
    }
  }
  std::vector<std::size_t> sizes;
  for (const auto& p : taken) sizes.push_back(taken.size() == 1 ? batch.size() : p->batch.size());
  const std::size_t images = batch.size();
  std::exception_ptr error;
  ml::BatchScores scores;
  try {
    auto running = self->run_(queue->model, std::move(batch));
    scores = co_await std::move(running);
    if (scores.classes == 0 || scores.probabilities.size() != images * scores.classes) {
      throw std::runtime_error("the executor returned " + std::to_string(scores.probabilities.size()) +
                               " scores for " + std::to_string(images) + " images");
    }
  } catch (...) {
    error = std::current_exception();
  }
  ++self->batches_run_;
  self->images_run_ += images;
  self->largest_batch_ = std::max(self->largest_batch_, images);
  std::size_t row = 0;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    Pending& p = *taken[i];
    if (error) {
      p.error = error;
    } else {
      const auto first = scores.probabilities.begin() + static_cast<std::ptrdiff_t>(row * scores.classes);
      p.rows.classes = scores.classes;
      p.rows.processing_time = scores.processing_time;
      p.rows.probabilities.assign(first, first + static_cast<std::ptrdiff_t>(sizes[i] * scores.classes));
    }
    row += sizes[i];
    p.finished = true;
    p.done.cancel();
  }
  --queue->in_flight;
  queue->wake.cancel();  // a batch's place is free
}

asio::awaitable<void> OnlineBatcher::shutdown(std::chrono::milliseconds grace) {
  closed_ = true;
  for (auto& [key, queue] : queues_) queue->wake.cancel();
  tasks_.close();
  co_await tasks_.shutdown(grace);
}

}  // namespace idunno::cli
