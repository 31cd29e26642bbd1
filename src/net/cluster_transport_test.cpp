// ClusterTransport on the FakeNetwork: RPC between two nodes stays fast
// while a data stream between the same nodes is stuck with full buffers
// (its bytes never queue in front of RPC frames), and stop() ends running
// streams and calls and returns.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <memory>
#include <string>

#include "core/task_group.hpp"
#include "net/cluster_transport.hpp"
#include "net/data_stream_test_support.hpp"
#include "net/rpc_test_support.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::Gate;

const core::HostPort node_a{"10.0.3.1", 7001};
const core::HostPort node_b{"10.0.3.2", 7001};

class ClusterTransportTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    network_ = std::make_unique<FakeNetwork>(executor(), 41);
    network_->set_stream_buffer(64 * 1024);
    endpoint_a_ = network_->stream(node_a);
    endpoint_b_ = network_->stream(node_b);
    core::StreamSection streams = testing::small_stream_limits();
    streams.window_bytes = 1024 * 1024;
    streams.frame_bytes = 256 * 1024;
    streams.write_timeout_ms = 10000;
    streams.idle_timeout_ms = 10000;
    a_ = std::make_unique<ClusterTransport>(executor(), *endpoint_a_, testing::test_limits(), streams);
    b_ = std::make_unique<ClusterTransport>(executor(), *endpoint_b_, testing::test_limits(), streams);
    b_->rpc_server().handle("ping", testing::echo);
    b_->stream_server().handle("test.stuck", [gate = gate_](DataStream stream) -> asio::awaitable<void> {
      co_await stream.accept();
      co_await gate->wait();  // the consumer does not read
      co_await testing::read_to_end(stream);
    });
    a_->start();
    b_->start();
  }

  void TearDown() override {
    gate_->release();
    run(a_->stop());
    run(b_->stop());
  }

  std::unique_ptr<FakeNetwork> network_;
  std::unique_ptr<StreamNetwork> endpoint_a_;
  std::unique_ptr<StreamNetwork> endpoint_b_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>(io_.get_executor());
  std::unique_ptr<ClusterTransport> a_;
  std::unique_ptr<ClusterTransport> b_;
};

// Spawned: the test keeps the stream client and the status alive until its
// task group joins.
asio::awaitable<void> push(DataStream stream, std::size_t bytes, StreamStatus* out) {
  *out = co_await testing::send_all(stream, testing::pattern(bytes), "", 256 * 1024);
}

TEST_F(ClusterTransportTest, RpcStaysFastWhileAStreamIsStuckWithFullBuffers) {
  DataStream stream = run(a_->stream_client().open(node_b, "test.stuck", ""));
  ASSERT_TRUE(stream.status().ok()) << stream.status().describe();
  StreamStatus pushed;
  core::TaskGroup pushers(executor());
  pushers.spawn(push(stream, 20 * 1024 * 1024, &pushed));
  // The stream fills its window and the pipe, then waits for credit.
  EXPECT_TRUE(run_until([&] { return stream.bytes_sent() == 1024 * 1024; }));
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run(a_->rpc_client().call(node_b, "ping", "hb", 300ms)), "hb");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
  }
  gate_->release();
  run(pushers.join());
  EXPECT_TRUE(pushed.ok()) << pushed.describe();
}

TEST_F(ClusterTransportTest, StopEndsRunningStreamsAndReturns) {
  DataStream stream = run(a_->stream_client().open(node_b, "test.stuck", ""));
  ASSERT_TRUE(stream.status().ok());
  run(b_->stop());
  testing::Received got = run(testing::read_to_end(stream));
  EXPECT_FALSE(got.status.ok());
  EXPECT_EQ(b_->stream_server().active_streams(), 0u);
  EXPECT_EQ(b_->stream_server().connection_count(), 0u);
  EXPECT_EQ(b_->rpc_server().connection_count(), 0u);
}

}  // namespace
}  // namespace idunno::net
