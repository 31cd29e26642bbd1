#pragma once
// Membership in a data-parallel training group: K processes (ranks) that
// meet through a rendezvous store (c10d's) and then all-reduce tensors
// through Gloo over TCP, on the calling thread. One per training process;
// the trainer calls its collectives from one thread only. Every rank must
// issue the same collectives in the same order.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace idunno::ml {

struct GroupOptions {
  int rank = 0;
  int world_size = 1;
  // Rendezvous: a file every rank can reach (FileStore) when set, otherwise
  // a TCPStore served by rank 0 on host:port.
  std::string file_store;
  std::string host = "127.0.0.1";
  std::uint16_t port = 29500;
  // Address Gloo binds its own connections to.
  std::string bind_host = "127.0.0.1";
  // For the rendezvous and for every collective: a rank that vanished makes
  // the others fail after this long instead of hanging.
  std::chrono::milliseconds timeout{60000};
};

class ProcessGroup {
 public:
  // Blocks until every rank has joined (or the timeout passes: TrainingError).
  explicit ProcessGroup(const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // Element-wise sum across ranks, in place (every rank gets the sum).
  void all_reduce_sum(std::vector<double>& values);
  // Waits until every rank arrives.
  void barrier();

  // The LibTorch side, for the engine's *_torch.cpp files only.
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
  int rank_;
  int world_size_;
};

}  // namespace idunno::ml
