// DataNode's RPC methods (sdfs.replicate, sdfs.drop) and their client calls.

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "fs/block_sink.hpp"
#include "fs/data_node.hpp"

namespace idunno::fs {

namespace asio = boost::asio;

namespace {

pb::TransferReply reply_of(bool ok, std::string error = {}) {
  pb::TransferReply reply;
  reply.set_ok(ok);
  reply.set_error(std::move(error));
  return reply;
}

asio::awaitable<TransferResult> call_transfer(net::RpcClient* rpc, core::HostPort target, std::string method,
                                              std::string request, std::chrono::milliseconds deadline) {
  TransferResult result;
  try {
    std::string bytes = co_await rpc->call(target, method, std::move(request), deadline);
    pb::TransferReply reply;
    if (!reply.ParseFromString(bytes)) {
      result.error = target.to_string() + " sent an unreadable " + method + " reply";
    } else {
      result.ok = reply.ok();
      result.error = reply.error();
    }
  } catch (const net::RpcError& e) {
    result.error = method + " on " + target.to_string() + " failed: " + e.what();
  }
  co_return result;
}

}  // namespace

asio::awaitable<pb::TransferReply> DataNode::serve_replicate(core::HostPort peer, pb::ReplicateRequest request) {
  auto source = core::parse_host_port(request.source());
  if (!source || request.name().empty()) co_return reply_of(false, "a replicate request needs a name and a source");
  pb::FetchHeader header;
  header.set_name(request.name());
  header.set_version(request.version());
  net::StreamOpenOptions options;
  options.deadline = options_.transfer_deadline;
  net::DataStream stream = co_await stream_client_.open(*source, kFetchMethod, header.SerializeAsString(), options);
  const std::string what = request.name() + " version " + std::to_string(request.version());
  if (!stream.status().ok()) {
    stats_.record({"replicate", request.name(), request.version(), 0, request.source(), stream.status().describe()});
    co_return reply_of(false,
                       "could not fetch " + what + " from " + request.source() + ": " + stream.status().describe());
  }
  BlockSink sink(store_, io_pool_);
  co_await sink.open(request.name(), request.version(), request.size());
  std::vector<std::uint8_t> buffer(options_.piece_bytes);
  std::uint64_t received = 0;
  for (;;) {
    net::DataRead got = co_await read_piece(stream, buffer);
    if (!got.status.ok()) {
      co_await sink.abandon();
      stats_.record(
          {"replicate", request.name(), request.version(), received, request.source(), got.status.describe()});
      co_return reply_of(false, "fetching " + what + " from " + request.source() + " failed: " + got.status.describe());
    }
    received += got.bytes;
    stats_.add_bytes_in(got.bytes);
    if (got.bytes > 0) co_await sink.append(std::span<const std::uint8_t>(buffer.data(), got.bytes));
    if (got.ended) break;
  }
  co_await stream.finish();  // our empty half: the stream ends instead of being cancelled when dropped
  if (received != request.size()) {
    sink.fail("received " + std::to_string(received) + " of " + std::to_string(request.size()) + " bytes");
  }
  co_await sink.finish(request.checksum());
  const std::string result = sink.durable() ? "ok" : sink.error();
  stats_.record(
      {"replicate", request.name(), request.version(), received, peer.to_string() + "<-" + request.source(), result});
  if (!sink.durable()) co_return reply_of(false, "storing " + what + " failed: " + sink.error());
  co_return reply_of(true);
}

asio::awaitable<pb::TransferReply> DataNode::serve_drop(core::HostPort peer, pb::DropRequest request) {
  std::vector<std::uint64_t> versions(request.versions().begin(), request.versions().end());
  auto job = [&store = store_, name = request.name(), versions]() -> std::string {
    try {
      for (auto v : versions) store.remove(name, v);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  auto work = io_pool_.run(std::move(job));
  std::string problem = co_await std::move(work);
  for (auto v : versions) {
    stats_.record({"drop", request.name(), v, 0, peer.to_string(), problem.empty() ? "ok" : problem});
  }
  co_return reply_of(problem.empty(), problem);
}

asio::awaitable<TransferResult> replicate(net::RpcClient& rpc, core::HostPort target, ReplicaSource what,
                                          std::chrono::milliseconds deadline) {
  // Not a coroutine: the request is built now, so `rpc` is not held by a frame.
  pb::ReplicateRequest request;
  request.set_name(what.name);
  request.set_version(what.version);
  request.set_size(what.size);
  request.set_checksum(what.checksum);
  request.set_source(what.source.to_string());
  return call_transfer(&rpc, std::move(target), kReplicateMethod, request.SerializeAsString(), deadline);
}

asio::awaitable<TransferResult> drop(net::RpcClient& rpc, core::HostPort target, std::string name,
                                     std::vector<std::uint64_t> versions, std::chrono::milliseconds deadline) {
  pb::DropRequest request;
  request.set_name(name);
  for (auto v : versions) request.add_versions(v);
  return call_transfer(&rpc, std::move(target), kDropMethod, request.SerializeAsString(), deadline);
}

}  // namespace idunno::fs
