#include "net/raft/queued_storage.hpp"

namespace idunno::net {

void QueuedStorage::queue(std::function<void(raft::FileStorage&)> write) {
  // The completion only tells the loop the job is gone; a failure is kept
  // in failure_ and surfaces at the next run() (the driver's sync).
  disk_.async_run(
      [this, write = std::move(write)] {
        if (failure_) return;
        try {
          write(file_);
        } catch (...) {
          failure_ = std::current_exception();
        }
      },
      boost::asio::bind_executor(loop_, [](std::exception_ptr) {}));
}

void QueuedStorage::save_hard_state(const raft::HardState& state) {
  queue([state](raft::FileStorage& file) { file.save_hard_state(state); });
}

void QueuedStorage::append(const std::vector<raft::LogEntry>& entries) {
  queue([entries](raft::FileStorage& file) { file.append(entries); });
}

void QueuedStorage::truncate_after(raft::Index last_kept) {
  owed_ = true;  // durable on return for the core: hold what follows until a sync
  queue([last_kept](raft::FileStorage& file) { file.truncate_after(last_kept); });
}

void QueuedStorage::save_snapshot(const raft::Snapshot& snapshot) {
  owed_ = true;  // durable on return for the core: hold what follows until a sync
  queue([snapshot](raft::FileStorage& file) { file.save_snapshot(snapshot); });
}

void QueuedStorage::save_shared_snapshot(std::shared_ptr<const raft::Snapshot> snapshot) {
  owed_ = true;  // durable on return for the core: hold what follows until a sync
  queue([snapshot = std::move(snapshot)](raft::FileStorage& file) { file.save_snapshot(*snapshot); });
}

void QueuedStorage::compact(raft::Index upto, raft::Term upto_term) {
  owed_ = true;  // durable on return for the core: hold what follows until a sync
  queue([upto, upto_term](raft::FileStorage& file) { file.compact(upto, upto_term); });
}

void QueuedStorage::reset_log(raft::Index start, raft::Term start_term) {
  owed_ = true;  // durable on return for the core: hold what follows until a sync
  queue([start, start_term](raft::FileStorage& file) { file.reset_log(start, start_term); });
}

}  // namespace idunno::net
