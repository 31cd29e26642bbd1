// RPC that cannot be swamped, on the FakeNetwork with bounded stream
// buffers: bounded queues, abandoned calls withdrawn, write timeouts on
// both sides, the server's in-flight byte budget, and a stop() that waits
// for every handler.
#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/task_group.hpp"
#include "net/fake_network.hpp"
#include "net/rpc.hpp"
#include "net/rpc_test_support.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::Gate;
using testing::RawRpcPeer;

const core::HostPort client_node{"10.0.1.1", 7001};
const core::HostPort raw_node{"10.0.1.2", 7001};
const core::HostPort server_node{"10.0.1.3", 7001};

struct Outcome {
  bool done = false;
  std::optional<RpcErrorCode> code;
  std::string reply;
  std::chrono::steady_clock::time_point at;
};

// Spawned: the test keeps the client and the outcome alive until its task
// group joins.
asio::awaitable<void> call_into(RpcClient* client, core::HostPort to, std::string method, std::string payload,
                                std::chrono::milliseconds deadline, Outcome* out) {
  try {
    out->reply = co_await client->call(to, std::move(method), std::move(payload), deadline);
  } catch (const RpcError& e) {
    out->code = e.code();
  }
  out->at = std::chrono::steady_clock::now();
  out->done = true;
}

class RpcBackpressureTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    network_ = std::make_unique<FakeNetwork>(executor(), 21);
    network_->set_stream_buffer(16 * 1024);
    raw_endpoint_ = network_->stream(raw_node);
    client_endpoint_ = network_->stream(client_node);
    limits_ = testing::test_limits();
  }

  void TearDown() override {
    if (client_) run(client_->stop());
    if (server_) run(server_->stop());
    run(calls_.shutdown(1s));
  }

  void make_client() { client_ = std::make_unique<RpcClient>(executor(), *client_endpoint_, limits_); }

  void make_server() {
    server_endpoint_ = network_->stream(server_node);
    server_ = std::make_unique<RpcServer>(executor(), *server_endpoint_, limits_);
  }

  // The raw peer's side of the client's connection.
  std::unique_ptr<RawRpcPeer> accept_raw() { return std::make_unique<RawRpcPeer>(run(raw_endpoint_->accept())); }

  // Starts a call; its outcome belongs to the fixture, so a call still
  // running when the test body ends (TearDown fails it) writes into live
  // memory.
  Outcome& spawn_call(const core::HostPort& to, std::string method, std::string payload,
                      std::chrono::milliseconds deadline) {
    Outcome& out = outcomes_.emplace_back();
    calls_.spawn(call_into(client_.get(), to, std::move(method), std::move(payload), deadline, &out));
    return out;
  }

  bool all_done(const std::vector<Outcome*>& outcomes) const {
    return std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome* o) { return o->done; });
  }

  std::unique_ptr<FakeNetwork> network_;
  std::unique_ptr<StreamNetwork> raw_endpoint_;
  std::unique_ptr<StreamNetwork> client_endpoint_;
  std::unique_ptr<StreamNetwork> server_endpoint_;
  core::RpcSection limits_;
  std::unique_ptr<RpcClient> client_;
  std::unique_ptr<RpcServer> server_;
  std::deque<Outcome> outcomes_;
  core::TaskGroup calls_{io_.get_executor(), "calls"};
};

TEST_F(RpcBackpressureTest, QueuedRequestsStayWithinTheByteBound) {
  limits_.max_queued_bytes = 64 * 1024;
  make_client();
  std::vector<Outcome*> outcomes;
  for (int i = 0; i < 10; ++i) outcomes.push_back(&spawn_call(raw_node, "echo", std::string(30 * 1024, 'q'), 5s));
  auto peer = accept_raw();  // and never reads: the writer blocks on the full pipe
  EXPECT_TRUE(run_until([&] { return client_->queued_bytes() > 0; }));
  testing::run_ready(io_);
  EXPECT_LE(client_->queued_bytes(), limits_.max_queued_bytes);
  // Each request that found no room is still waiting, not queued.
  for (const Outcome* outcome : outcomes) EXPECT_FALSE(outcome->done);
}

TEST_F(RpcBackpressureTest, AbandonedCallsAreNeverSent) {
  limits_.write_timeout_ms = 5000;
  make_client();
  Outcome& big = spawn_call(raw_node, "echo", std::string(40 * 1024, 'a'), 5s);
  auto peer = accept_raw();
  testing::run_ready(io_);  // the writer is stuck in the middle of the big request
  Outcome& b = spawn_call(raw_node, "echo", "b", 100ms);
  Outcome& c = spawn_call(raw_node, "echo", "c", 100ms);
  testing::run_ready(io_);  // both are queued behind the big one
  // Something arrives from the peer, so the connection is not taken for dead.
  RpcFrame stray;
  stray.set_id(999);
  run(peer->write_frame(stray));
  EXPECT_TRUE(run_until([&] { return b.done && c.done; }));
  EXPECT_EQ(b.code, RpcErrorCode::timeout);
  EXPECT_EQ(c.code, RpcErrorCode::timeout);
  const RpcFrame first = run(peer->read_frame());
  EXPECT_EQ(first.payload().size(), 40u * 1024);
  run(peer->reply(first, "big done"));
  EXPECT_TRUE(run_until([&] { return big.done; }));
  EXPECT_EQ(big.reply, "big done");
  Outcome& d = spawn_call(raw_node, "echo", "d", 1s);
  // The next frame on the wire is d's: b and c were withdrawn unsent.
  const RpcFrame next = run(peer->read_frame());
  EXPECT_EQ(next.payload(), "d");
  run(peer->reply(next, "d done"));
  EXPECT_TRUE(run_until([&] { return d.done; }));
  EXPECT_EQ(d.reply, "d done");
}

TEST_F(RpcBackpressureTest, ClientWriteTimeoutFailsCallsToAPeerThatStoppedReading) {
  limits_.write_timeout_ms = 200;
  make_client();
  const auto start = std::chrono::steady_clock::now();
  Outcome& outcome = spawn_call(raw_node, "echo", std::string(40 * 1024, 'w'), 5s);
  auto peer = accept_raw();  // never reads
  EXPECT_TRUE(run_until([&] { return outcome.done; }));
  EXPECT_EQ(outcome.code, RpcErrorCode::unreachable);
  EXPECT_LT(outcome.at - start, 2s) << "the call waited for its deadline instead of the write timeout";
  EXPECT_EQ(client_->connection_count(), 0u);
}

TEST_F(RpcBackpressureTest, ServerWriteTimeoutDropsAClientThatDoesNotReadReplies) {
  limits_.write_timeout_ms = 500;
  make_server();
  server_->handle("echo", testing::echo);
  server_->start();
  RawRpcPeer peer(run(raw_endpoint_->connect(server_node)));
  for (std::uint64_t id = 1; id <= 4; ++id) {
    RpcFrame request;
    request.set_id(id);
    request.set_method("echo");
    request.set_payload(std::string(30 * 1024, 'r'));
    run(peer.write_frame(request));
  }
  EXPECT_TRUE(run_until([&] { return server_->connection_count() == 1; }));
  // Replies pile up in the pipe nobody reads; the server gives up on them.
  EXPECT_TRUE(run_until([&] { return server_->connection_count() == 0; }, 3s));
}

TEST_F(RpcBackpressureTest, ServerStopsReadingBeyondTheInFlightByteBudget) {
  limits_.max_inflight_request_bytes = 100 * 1024;
  network_->set_stream_buffer(256 * 1024);
  make_server();
  make_client();
  Gate release(executor());
  int running = 0;
  int most = 0;
  server_->handle("hold", [&](const RpcContext&, std::string request) -> asio::awaitable<std::string> {
    most = std::max(most, ++running);
    co_await release.wait();
    --running;
    co_return std::to_string(request.size());
  });
  server_->start();
  std::vector<Outcome*> outcomes;
  for (int i = 0; i < 6; ++i) outcomes.push_back(&spawn_call(server_node, "hold", std::string(40 * 1024, 'h'), 5s));
  EXPECT_TRUE(run_until([&] { return running == 2; }));
  testing::run_ready(io_);
  EXPECT_EQ(most, 2) << "40 KiB requests with a 100 KiB budget: two at a time";
  release.release();
  EXPECT_TRUE(run_until([&] { return all_done(outcomes); }));
  for (const Outcome* outcome : outcomes) EXPECT_EQ(outcome->reply, std::to_string(40 * 1024));
  EXPECT_EQ(most, 2);
}

TEST_F(RpcBackpressureTest, StopWaitsForEveryHandlerEvenWhenReadingIsHeldUp) {
  limits_.max_inflight_request_bytes = 50 * 1024;
  network_->set_stream_buffer(256 * 1024);
  make_server();
  make_client();
  Gate never(executor());
  int started = 0;
  int ended = 0;
  server_->handle("hold", [&](const RpcContext&, std::string) -> asio::awaitable<std::string> {
    ++started;
    struct Count {
      int& n;
      ~Count() { ++n; }
    } count{ended};
    co_await never.wait();
    co_return "";
  });
  server_->start();
  for (int i = 0; i < 3; ++i) spawn_call(server_node, "hold", std::string(40 * 1024, 'h'), 5s);
  EXPECT_TRUE(run_until([&] { return started == 1 && client_->queued_bytes() == 0; }));
  testing::run_ready(io_);  // the reader waits for room in the budget
  run(server_->stop());
  EXPECT_EQ(ended, started) << "stop() returned while a handler still ran";
}

}  // namespace
}  // namespace idunno::net
