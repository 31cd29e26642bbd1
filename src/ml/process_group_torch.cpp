// ProcessGroup on c10d: FileStore or TCPStore rendezvous, ProcessGroupGloo
// with one TCP device bound to the configured address.
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "ml/collectives.hpp"
#include "ml/base/errors.hpp"
#include "ml/model_impl.hpp"

namespace idunno::ml {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

namespace {
c10::intrusive_ptr<c10d::Store> make_store(const GroupOptions& options) {
  if (!options.file_store.empty()) {
    auto store = c10::make_intrusive<c10d::FileStore>(options.file_store, options.world_size);
    store->setTimeout(options.timeout);
    return store;
  }
  c10d::TCPStoreOptions tcp;
  tcp.port = options.port;
  tcp.isServer = options.rank == 0;
  tcp.numWorkers = static_cast<std::size_t>(options.world_size);
  tcp.waitWorkers = true;
  tcp.timeout = options.timeout;
  return c10::make_intrusive<c10d::TCPStore>(options.host, tcp);
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw TrainingError(std::string(what) + " across the training group failed (a rank left or timed out): " + e.what());
  }
}
}  // namespace

ProcessGroup::ProcessGroup(const GroupOptions& options) : rank_(options.rank), world_size_(options.world_size) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    throw TrainingError("rank " + std::to_string(options.rank) + " is not in a group of " +
                        std::to_string(options.world_size));
  }
  impl_ = std::make_unique<Impl>();
  try {
    impl_->store = make_store(options);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(options.bind_host));
    gloo_options->threads = 1;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("idunno/", impl_->store);
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, options.rank, options.world_size, gloo_options);
  } catch (const std::exception& e) {
    throw TrainingError("cannot join the training group as rank " + std::to_string(options.rank) + " of " +
                        std::to_string(options.world_size) + ": " + e.what());
  }
  spdlog::info("event=train_group_joined rank={} world={}", rank_, world_size_);
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<double>& values) {
  auto tensor = at::from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, at::kDouble);
  std::vector<at::Tensor> tensors{tensor};
  ml::all_reduce_sum(*this, tensors);
}

void ProcessGroup::barrier() { wait(impl_->gloo->barrier(), "barrier"); }

void all_reduce_sum(ProcessGroup& group, std::vector<at::Tensor>& tensors) {
  if (group.world_size() == 1) return;
  for (auto& tensor : tensors) {
    std::vector<at::Tensor> one{tensor};
    wait(group.impl().gloo->allreduce(one, c10d::AllreduceOptions{}), "all-reduce");
  }
}

void broadcast(ProcessGroup& group, std::vector<at::Tensor>& tensors, int root) {
  if (group.world_size() == 1) return;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& tensor : tensors) {
    std::vector<at::Tensor> one{tensor};
    wait(group.impl().gloo->broadcast(one, options), "broadcast");
  }
}

}  // namespace idunno::ml
