#pragma once
// TermFence: the node's fence against commands of a deposed coordinator.
//
// Why: a coordinator that was paused or cut off may still send commands
// after a successor was elected (an operation that began before the pause
// resumes after it, stamped with the term it began in). Every coordinator
// request carries its sender's term (RpcClient::call's `term`); a method
// registered through guard() runs only when that term is at least the
// highest this node has seen, from its own Raft term or from requests it
// admitted. An older one is refused with stale_term and the highest term
// (stamped on the reply through RpcServer::set_term_source(highest)), and
// the sender's RpcClient term observer tells its Raft of the newer term, so
// the old coordinator steps down on its first refused request. Event loop
// only; one per node.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "core/raft/fence.hpp"
#include "net/rpc_error.hpp"
#include "net/rpc_server.hpp"

namespace idunno::net {

class TermFence {
 public:
  // The node's own current Raft term (read on every check). Default: 0.
  void set_local_term(std::function<std::uint64_t()> local_term) { local_term_ = std::move(local_term); }

  // The highest term seen: the local term or an admitted request's.
  std::uint64_t highest() {
    if (local_term_) fence_.observe(local_term_());
    return fence_.highest();
  }

  // True (and remembered) when `term` is not older than highest().
  bool admit(std::uint64_t term) {
    highest();
    return fence_.admit(term);
  }

  // Wraps `handler`: requests whose term admit() refuses are answered with
  // stale_term and logged (`event=fence_rejected`); the handler never sees
  // them. A request without a term (0) is refused as soon as any term is
  // known: fenced methods are coordinator commands and always carry one.
  RpcHandler guard(RpcHandler handler);

 private:
  raft::Fence fence_;
  std::function<std::uint64_t()> local_term_;
};

}  // namespace idunno::net
