// Fencing over RPC: a fenced method refuses requests of an older term than
// the node has seen, says which term it has seen, and the caller learns it.
#include "net/fencing.hpp"

#include <string>
#include <vector>

#include "net/fake_network.hpp"
#include "net/rpc.hpp"
#include "net/rpc_test_support.hpp"
#include "net/test_util.hpp"

namespace idunno::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const core::HostPort server_node{"10.0.0.1", 7001};
const core::HostPort client_node{"10.0.0.2", 7001};

class FencingTest : public testing::CoroutineTest {
 protected:
  void SetUp() override {
    network_ = std::make_unique<FakeNetwork>(executor(), 5);
    server_endpoint_ = network_->stream(server_node);
    client_endpoint_ = network_->stream(client_node);
    server_ = std::make_unique<RpcServer>(executor(), *server_endpoint_, testing::test_limits());
    client_ = std::make_unique<RpcClient>(executor(), *client_endpoint_, testing::test_limits());
    fence_.set_local_term([this] { return local_term_; });
    server_->set_term_source([this] { return fence_.highest(); });
    client_->set_term_observer([this](std::uint64_t term) { observed_.push_back(term); });
    server_->handle("command", fence_.guard([this](const RpcContext& context, std::string request) {
      ran_.push_back(context.term);
      return testing::echo(context, std::move(request));
    }));
    server_->handle("open", testing::echo);
    server_->start();
  }

  void TearDown() override {
    run(client_->stop());
    run(server_->stop());
  }

  // The code and term of a refused call; fails the test if it succeeded.
  std::pair<RpcErrorCode, std::uint64_t> refused(std::uint64_t term) {
    try {
      run(client_->call(server_node, "command", "x", 1s, term));
    } catch (const RpcError& e) {
      return {e.code(), e.term()};
    }
    ADD_FAILURE() << "a call of term " << term << " was admitted";
    return {RpcErrorCode::protocol, 0};
  }

  std::unique_ptr<FakeNetwork> network_;
  std::unique_ptr<StreamNetwork> server_endpoint_;
  std::unique_ptr<StreamNetwork> client_endpoint_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;
  TermFence fence_;
  std::uint64_t local_term_ = 0;
  std::vector<std::uint64_t> ran_;
  std::vector<std::uint64_t> observed_;
};

TEST_F(FencingTest, AdmittedTermRaisesTheBarForOlderOnes) {
  EXPECT_EQ(run(client_->call(server_node, "command", "a", 1s, 5)), "a");
  EXPECT_EQ(run(client_->call(server_node, "command", "b", 1s, 5)), "b");
  EXPECT_EQ(refused(4), std::make_pair(RpcErrorCode::stale_term, std::uint64_t{5}));
  EXPECT_EQ(run(client_->call(server_node, "command", "c", 1s, 6)), "c");
  EXPECT_EQ(refused(5), std::make_pair(RpcErrorCode::stale_term, std::uint64_t{6}));
  EXPECT_EQ(ran_, (std::vector<std::uint64_t>{5, 5, 6}));  // refused requests never reach the handler
}

TEST_F(FencingTest, TheNodesOwnRaftTermFencesToo) {
  local_term_ = 7;
  EXPECT_EQ(refused(6), std::make_pair(RpcErrorCode::stale_term, std::uint64_t{7}));
  EXPECT_EQ(refused(0), std::make_pair(RpcErrorCode::stale_term, std::uint64_t{7}));  // a command must carry a term
  EXPECT_EQ(run(client_->call(server_node, "command", "x", 1s, 7)), "x");
  EXPECT_TRUE(ran_ == std::vector<std::uint64_t>{7});
}

TEST_F(FencingTest, UnfencedMethodsServeAnyTermAndEveryReplyCarriesTheHighest) {
  local_term_ = 3;
  EXPECT_EQ(run(client_->call(server_node, "open", "y", 1s, 1)), "y");
  refused(2);
  // The caller saw the responder's term on the ok reply and the refusal.
  EXPECT_EQ(observed_, (std::vector<std::uint64_t>{3, 3}));
}

}  // namespace
}  // namespace idunno::net
