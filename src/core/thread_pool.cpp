#include "core/thread_pool.hpp"

#include <thread>

namespace idunno::core {

namespace {
std::size_t pool_size(std::size_t threads) {
  if (threads > 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? cores : 1;
}
}  // namespace

ThreadPool::ThreadPool(std::size_t threads) : size_(pool_size(threads)), pool_(size_) {}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  pool_.stop();
  pool_.join();
}

}  // namespace idunno::core
