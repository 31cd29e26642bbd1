#pragma once
// The driver's view of FileStorage: every write is queued, in order, to the
// one disk thread, and the event loop never touches the files (nor waits
// for a lock the disk thread holds across I/O). sync() only notes that a
// flush is owed, and so do the writes the core expects durable on return
// (truncation, snapshot, compaction, reset); the driver then queues a sync
// with run() and holds back the flush's outputs until it completes.
//
// Why: fsync, truncation, snapshot saves and compaction take milliseconds
// to seconds; the event loop that also runs membership and RPC must not
// wait for the disk. One ordered queue keeps the order the core wrote in
// (an append after a truncation lands after it; a compaction after the
// appends it keeps), and a sync queued after a write covers it. Holding
// every output of a flush (messages, applied results, leadership changes)
// until its sync is done keeps the core's rule that nothing leaves before
// it is on disk.
//
// A failed write is remembered on the disk thread; every later queued job
// is skipped and every run() fails with that error, so the driver stops
// (fail-stop) and acknowledges nothing written after it.
//
// Owned by RaftDriver; its Storage methods and run() are called from the
// event loop, the jobs run on the disk pool (one thread), and FileStorage is
// touched only there after construction.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <exception>
#include <functional>
#include <utility>

#include "core/raft/file_storage.hpp"
#include "core/thread_pool.hpp"

namespace idunno::net {

class QueuedStorage final : public raft::Storage {
 public:
  // `disk` must have exactly one thread (jobs run in the order queued).
  QueuedStorage(raft::FileStorage& file, core::ThreadPool& disk, boost::asio::any_io_executor loop)
      : file_(file), disk_(disk), loop_(std::move(loop)) {}

  // Before the first queued write only (the core's constructor).
  State load() override { return file_.load(); }
  void save_hard_state(const raft::HardState& state) override;
  void append(const std::vector<raft::LogEntry>& entries) override;
  void truncate_after(raft::Index last_kept) override;
  void sync() override { owed_ = true; }
  bool sync_is_deferred() const override { return true; }
  void save_snapshot(const raft::Snapshot& snapshot) override;
  void save_shared_snapshot(std::shared_ptr<const raft::Snapshot> snapshot) override;
  void compact(raft::Index upto, raft::Term upto_term) override;
  void reset_log(raft::Index start, raft::Term start_term) override;

  // True once per run of sync() calls: a flush is owed.
  bool take_owed() { return std::exchange(owed_, false); }

  // Runs fn(file) on the disk thread after every write queued before it;
  // resumes on the caller's executor with fn's result, or throws the first
  // error of any job queued so far.
  template <typename Fn, typename R = std::invoke_result_t<Fn&, raft::FileStorage&>>
  boost::asio::awaitable<R> run(Fn fn) {
    // Named, not a temporary inside the co_await (GCC 12 destroys such
    // temporaries twice).
    auto job = [this, fn = std::move(fn)]() mutable -> R {
      if (failure_) std::rethrow_exception(failure_);
      try {
        return fn(file_);
      } catch (...) {
        failure_ = std::current_exception();
        throw;
      }
    };
    auto work = disk_.run(std::move(job));
    co_return co_await std::move(work);
  }

 private:
  void queue(std::function<void(raft::FileStorage&)> write);

  raft::FileStorage& file_;
  core::ThreadPool& disk_;
  boost::asio::any_io_executor loop_;
  bool owed_ = false;
  std::exception_ptr failure_;  // disk thread only
};

}  // namespace idunno::net
