#include "core/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace idunno::core {

namespace asio = boost::asio;

TaskGroup::TaskGroup(asio::any_io_executor executor, std::string name)
    : executor_(std::move(executor)),
      name_(std::move(name)),
      alive_(std::make_shared<bool>(true)) {}

TaskGroup::~TaskGroup() {
  *alive_ = false;
  for (auto& [id, child] : children_) child->signal.emit(asio::cancellation_type::terminal);
}

namespace {
// Children accept total cancellation (the graceful first step of shutdown),
// not only the terminal cancellation that co_spawn enables by default.
asio::awaitable<void> accept_total_cancellation(asio::awaitable<void> task) {
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  co_await std::move(task);
}
}  // namespace

bool TaskGroup::spawn(asio::awaitable<void> task, std::string what) {
  if (closed_) return false;
  const std::uint64_t id = next_id_++;
  auto child = std::make_unique<Child>();
  child->what = std::move(what);
  auto slot = child->signal.slot();
  children_.emplace(id, std::move(child));
  asio::co_spawn(executor_, accept_total_cancellation(std::move(task)),
                 asio::bind_cancellation_slot(slot, [this, id, alive = alive_](std::exception_ptr error) {
                   if (*alive) on_child_done(id, error);
                 }));
  return true;
}

void TaskGroup::on_child_done(std::uint64_t id, std::exception_ptr error) {
  auto it = children_.find(id);
  if (it == children_.end()) return;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) {
        spdlog::warn("event=task_failed group={} task={} error=\"{}\"", name_, it->second->what, e.what());
      }
    } catch (const std::exception& e) {
      spdlog::warn("event=task_failed group={} task={} error=\"{}\"", name_, it->second->what, e.what());
    } catch (...) {
      spdlog::warn("event=task_failed group={} task={} error=unknown", name_, it->second->what);
    }
  }
  children_.erase(it);
  if (children_.empty()) {
    for (auto& waiter : waiters_) waiter->cancel();
    waiters_.clear();
  }
}

void TaskGroup::cancel(asio::cancellation_type type) {
  // Emitting may complete children synchronously and erase them; iterate a
  // copy of the ids.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, child] : children_) ids.push_back(id);
  for (auto id : ids) {
    auto it = children_.find(id);
    if (it != children_.end()) it->second->signal.emit(type);
  }
}

asio::awaitable<bool> TaskGroup::wait_empty_until(std::chrono::steady_clock::time_point deadline) {
  while (!children_.empty()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    auto timer = std::make_shared<asio::steady_timer>(executor_, deadline);
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(waiters_, timer);
  }
  co_return true;
}

asio::awaitable<void> TaskGroup::join() {
  co_await wait_empty_until(std::chrono::steady_clock::time_point::max());
}

asio::awaitable<bool> TaskGroup::shutdown(std::chrono::milliseconds grace) {
  close();
  cancel(asio::cancellation_type::total);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const bool emptied = co_await wait_empty_until(deadline);
  if (!emptied) {
    cancel(asio::cancellation_type::terminal);
    co_await join();
  }
  co_return emptied;
}

}  // namespace idunno::core
