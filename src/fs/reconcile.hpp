#pragma once
// What a data node does with the blocks on its disk when it starts, and
// which blocks any node may delete at any time.
//
// Why: a node that was down missed deletes and prunes, may have been
// replaced by re-replication while it was away (and its listings forgotten),
// and may have come back with a damaged disk. DESIGN.md section 5: a
// restarted node keeps only the blocks the namespace still lists on it whose
// checksums verify, and drops the rest; a listing it cannot back is removed
// (RemoveReplica), so re-replication replaces the copy. So a whole-cluster
// restart loses nothing, and a node never serves data the namespace no
// longer lists.
//
// plan_reconcile() is the pure decision against a linearizable read of the
// namespace's listing for this node (held_by through ReadIndex);
// reconcile_blocks() carries it out at start (blocking store calls on the
// I/O pool, proposals through the log). garbage_blocks() is the rule that
// is safe at any time against this node's own, possibly stale, copy of the
// namespace: a version the namespace has removed is gone for good (version
// numbers are never reused), while a version it does not know yet is newer
// than its counter and is kept.
//
// sweep_garbage() applies that rule to the store, periodically.
//
// Threading: plan_reconcile and garbage_blocks are pure; reconcile_blocks
// runs on the event loop beside the data service: it lists the store before
// it reads the namespace, so a put that lands meanwhile is left alone. (A
// re-replication copy that lands before the listing and is added to the
// namespace after the read is dropped; the namespace then lists a copy this
// node lacks, which reads skip and the next reconcile reports as lost.)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"
#include "fs/block_store.hpp"
#include "fs/namespace.hpp"

namespace idunno::fs {

struct ReconcilePlan {
  std::vector<NamedVersion> verify;   // listed here, same size and checksum: keep once verified
  std::vector<BlockInfo> drop;        // not listed here, or not what the listing says
  std::vector<NamedVersion> lost;     // committed, listed here, not held intact: RemoveReplica
  std::vector<std::string> bad_files; // files in the store that are not readable blocks
};

// `held` is what the store lists, `listed` what the namespace lists on this
// node (pending and committed). A pending listing the node does not hold is
// left alone (its put's Commit names the nodes that really stored it).
ReconcilePlan plan_reconcile(const BlockListing& held, const std::vector<NamedVersion>& listed);

// Blocks whose version the namespace `ns` has removed: the file's version
// counter is past them and the version is not there.
std::vector<BlockInfo> garbage_blocks(const std::vector<BlockInfo>& held, const Namespace& ns);

// Removes from `store` the blocks garbage_blocks() finds against `ns`, this
// node's own copy of the namespace (read on the event loop; the listing and
// the removals run on `io`). Returns how many it removed. It catches what a
// missed drop left behind (none is sent to a node declared dead, and one sent
// while it was unreachable is not retried). All three must outlive the
// coroutine; DiskError passes through.
boost::asio::awaitable<std::size_t> sweep_garbage(BlockStore* store, core::ThreadPool* io, const Namespace* ns);

struct ReconcileReport {
  std::size_t kept = 0;
  std::size_t dropped = 0;    // unlisted or different blocks removed
  std::size_t corrupt = 0;    // listed blocks that failed verification (removed, and lost)
  std::size_t lost = 0;       // RemoveReplica proposals that took effect
  std::size_t bad_files = 0;  // unreadable files discarded
};

struct ReconcilePorts {
  // A linearizable read of the versions the namespace lists on this node;
  // throws when no coordinator answers (reconcile_blocks retries).
  std::function<boost::asio::awaitable<std::vector<NamedVersion>>()> listed;
  // As ReplicaPorts::submit.
  std::function<boost::asio::awaitable<std::optional<SdfsResult>>(std::string command)> submit;
};

// Reconciles `store` of node `self`: asks ports.listed() until it answers
// (with backoff; cancellation ends the wait), then verifies, drops and
// reports as plan_reconcile says.
// `store` and `io` must outlive the coroutine.
boost::asio::awaitable<ReconcileReport> reconcile_blocks(BlockStore* store, core::ThreadPool* io, std::string self,
                                                         ReconcilePorts ports);

}  // namespace idunno::fs
