#include "core/thread_pool.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <thread>

namespace idunno::core {

namespace asio = boost::asio;

namespace {
std::size_t pool_size(std::size_t threads) {
  if (threads > 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? cores : 1;
}
}  // namespace

ThreadPool::ThreadPool(std::size_t threads, std::string name)
    : size_(pool_size(threads)), name_(std::move(name)), pool_(size_) {}

ThreadPool::~ThreadPool() { stop(); }

std::uint64_t ThreadPool::add_job(std::shared_ptr<detail::PoolJob> cancellable) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  ++active_;
  if (cancellable) cancellable_.emplace(id, cancellable);
  return id;
}

void ThreadPool::job_done(std::uint64_t id) {
  std::vector<std::pair<asio::any_io_executor, std::weak_ptr<asio::steady_timer>>> wake;
  {
    const std::lock_guard lock(mutex_);
    cancellable_.erase(id);
    if (--active_ == 0) wake.swap(idle_waiters_);
  }
  for (auto& [executor, timer] : wake) {
    asio::post(executor, [timer = std::move(timer)] {
      if (auto t = timer.lock()) t->cancel();
    });
  }
}

void ThreadPool::cancel_all() {
  std::vector<std::shared_ptr<detail::PoolJob>> jobs;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [id, weak] : cancellable_) {
      if (auto job = weak.lock()) jobs.push_back(std::move(job));
    }
  }
  // Outside the lock: an abandoned job posts its completion.
  for (const auto& job : jobs) job->cancel();
}

std::size_t ThreadPool::active() const {
  const std::lock_guard lock(mutex_);
  return active_;
}

asio::awaitable<bool> ThreadPool::wait_idle(std::chrono::steady_clock::time_point deadline) {
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
    {
      const std::lock_guard lock(mutex_);
      if (active_ == 0) co_return true;
      if (std::chrono::steady_clock::now() >= deadline) co_return false;
      idle_waiters_.emplace_back(executor, timer);
    }
    boost::system::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return active() == 0;
  }
}

void ThreadPool::stop() {
  cancel_all();
  pool_.stop();
  pool_.join();
}

}  // namespace idunno::core
