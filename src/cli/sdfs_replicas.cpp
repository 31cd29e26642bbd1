// The SDFS service's re-replication and restart reconciliation, wired to
// the coordinator's log, membership and the data node's calls
// (sdfs_service.hpp says what they do).

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <stdexcept>

#include "cli/sdfs_service.hpp"
#include "core/disk.hpp"
#include "core/logging.hpp"
#include "core/task_group.hpp"
#include "fs/reconcile.hpp"
#include "net/swim/swim_driver.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kSubmitTimeout = 10s;
constexpr auto kDropTimeout = 10s;
// A copy may take this long plus a second per 20 MB.
constexpr auto kCopyBase = 30s;
constexpr std::uint64_t kCopyBytesPerSecond = 20'000'000;

std::optional<core::HostPort> address_of(const MembershipService& membership, const std::string& node) {
  for (const auto& m : membership.active_members()) {
    if (m.id.name == node) return m.id.addr;
  }
  return std::nullopt;
}

asio::awaitable<std::optional<fs::SdfsResult>> submit_sdfs(net::RaftDriver* raft, std::string command) {
  std::optional<fs::SdfsResult> out;
  std::string error;
  try {
    const std::string reply = co_await raft->submit("sdfs", std::move(command), kSubmitTimeout);
    out = fs::decode_sdfs_result(reply);
  } catch (const boost::system::system_error& failure) {
    if (core::is_cancellation(failure)) throw;
    error = failure.what();
  } catch (const std::exception& failure) {
    error = failure.what();
  }
  if (!error.empty()) spdlog::warn("event=sdfs_submit_failed error={}", core::log_quote(error));
  co_return out;
}

asio::awaitable<std::string> copy_replica(net::RpcClient* rpc, const MembershipService* membership, fs::RepairTask task,
                                          fs::VersionEntry entry) {
  const auto target = address_of(*membership, task.target);
  const auto source = address_of(*membership, task.source);
  if (!target) co_return "the target " + task.target + " is not a live member";
  if (!source) co_return "the source " + task.source + " is not a live member";
  const auto deadline = kCopyBase + std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::seconds(entry.size / kCopyBytesPerSecond));
  fs::ReplicaSource what{task.name, task.version, entry.size, entry.checksum, *source};
  auto copying = fs::replicate(*rpc, *target, std::move(what), deadline);
  const fs::TransferResult result = co_await std::move(copying);
  co_return result.ok ? std::string() : result.error;
}

asio::awaitable<void> drop_blocks(net::RpcClient* rpc, const MembershipService* membership, std::string node,
                                  std::string name, std::vector<std::uint64_t> versions) {
  const auto address = address_of(*membership, node);
  if (!address) co_return;  // it drops them when it restarts
  auto dropping = fs::drop(*rpc, *address, std::move(name), std::move(versions), kDropTimeout);
  const fs::TransferResult result = co_await std::move(dropping);
  if (!result.ok) throw std::runtime_error(result.error);
}

asio::awaitable<std::vector<fs::NamedVersion>> listed_here(net::RaftDriver* raft, std::string self) {
  const std::string reply = co_await raft->read("sdfs", fs::sdfs_held_by(self), kSubmitTimeout);
  auto result = fs::decode_sdfs_query_result(reply);
  if (!result.ok()) throw std::runtime_error("held_by: " + result.error);
  co_return std::move(result.versions);
}

}  // namespace

std::set<std::string> SdfsService::live_names() const {
  std::set<std::string> out;
  for (const auto& m : membership_.active_members()) out.insert(m.id.name);
  out.insert(self_);
  return out;
}

void SdfsService::wire_replicas(asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                                CoordinatorService& coordinator, const fs::Namespace& ns,
                                core::MetricsRegistry& metrics) {
  net::RaftDriver* raft = &coordinator.raft();
  net::RpcClient* rpc = &transport.rpc_client();
  const MembershipService* membership = &membership_;
  fs::ReplicaPorts ports;
  ports.submit = [raft](std::string command) { return submit_sdfs(raft, std::move(command)); };
  ports.copy = [rpc, membership](fs::RepairTask task, fs::VersionEntry entry) {
    return copy_replica(rpc, membership, std::move(task), std::move(entry));
  };
  ports.drop = [rpc, membership](std::string node, std::string name, std::vector<std::uint64_t> versions) {
    return drop_blocks(rpc, membership, std::move(node), std::move(name), std::move(versions));
  };
  fs::ReplicaPolicy policy;
  policy.replicas = static_cast<std::size_t>(config.sdfs.replicas);
  replicas_ = std::make_unique<fs::ReplicaManager>(executor, ns, policy, std::move(ports));
  background_ = std::make_unique<core::TaskGroup>(executor, "sdfs-reconcile");

  raft->on_leader_ready([this](std::uint64_t /*term*/) { replicas_->set_leading(true); });
  raft->on_leadership_change([this](bool leader, std::uint64_t /*term*/) {
    if (!leader) replicas_->set_leading(false);
  });
  raft->on_applied([this](const net::AppliedCommand& applied) {
    if (applied.machine == "sdfs") replicas_->applied(applied.command, applied.result);
  });
  membership_.subscribe([this](const swim::MemberEvent& /*event*/) { replicas_->set_live(live_names()); });

  metrics.add([this](core::MetricsWriter& w) {
    const auto& s = replicas_->stats();
    w.counter("sdfs_repairs_total", "SDFS re-replication copies by result (on the coordinator)",
              static_cast<double>(s.copies_ok), {{"result", "ok"}});
    w.counter("sdfs_repairs_total", "SDFS re-replication copies by result (on the coordinator)",
              static_cast<double>(s.copies_failed), {{"result", "error"}});
    w.counter("sdfs_repair_bytes_total", "Bytes copied by SDFS re-replication", static_cast<double>(s.copy_bytes));
    w.counter("sdfs_repair_seconds_total", "Time spent in successful SDFS re-replication copies", s.copy_seconds);
    w.gauge("sdfs_repairs_running", "SDFS re-replication copies running now",
            static_cast<double>(replicas_->copies_running()));
  });
}

asio::awaitable<void> SdfsService::reconcile() {
  net::RaftDriver* raft = &coordinator_.raft();
  fs::ReconcilePorts ports;
  ports.listed = [raft, self = self_]() { return listed_here(raft, self); };
  ports.submit = [raft](std::string command) { return submit_sdfs(raft, std::move(command)); };
  auto reconciling = fs::reconcile_blocks(store_.get(), &io_pool_, self_, std::move(ports));
  co_await std::move(reconciling);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(sweep_interval_);
    co_await timer.async_wait(asio::use_awaitable);
    std::string failure;
    try {
      auto sweeping = fs::sweep_garbage(store_.get(), &io_pool_, &ns_);
      co_await std::move(sweeping);
    } catch (const core::DiskError& e) {
      failure = e.what();
    }
    if (!failure.empty()) spdlog::warn("event=sdfs_sweep_failed node={} error={}", self_, core::log_quote(failure));
  }
}

}  // namespace idunno::cli
