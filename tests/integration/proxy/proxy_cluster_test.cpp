// `connpool proxy --url redis-cluster://...` with real clients: redis-py and redis-cli, which
// know nothing of Redis Cluster, through the built binary in front of a private 3-primary
// cluster (tests/support/redis_cluster.hpp). Each step of proxy_cluster.py is one test; a slot
// is moved under the proxy (MOVED followed); `connpool serve` runs a cluster proxy configured
// by CONNPOOL_PROXIES__* variables.
#include "integration/cli/cli_process.hpp"
#include "proxy_test_util.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "support/sanitizer_factor.hpp"
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;

// A raw RESP client of the proxy, for a subscription kept open while the test changes the
// cluster under it.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  /// Reads until what was received contains `needle` or `timeout` passes.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  [[nodiscard]] const std::string& received() const { return received_; }

 private:
  int fd_;
  bool connected_ = false;
  std::string received_;
};

class ProxyCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    RedisClusterOptions options;
    options.replicas_per_primary = 0;  // routing is what is tested here, not failover
    cluster_ = RedisCluster::start(options, &error).release();
    ASSERT_NE(cluster_, nullptr) << error;
    port_ = free_loopback_port();
    // No periodic refresh: the slot moves of the tests stay unknown to the proxy until it meets
    // their MOVED / ASK, the paths under test.
    proxy_ = new ServeChild({"proxy", "--listen", "127.0.0.1:" + std::to_string(port_), "--url",
                             cluster_->url("max_size=4&refresh_interval=0")},
                            {});
    ASSERT_TRUE(wait_accepting(port_)) << proxy_->output();
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete cluster_;
  }

  static std::string primaries() {
    std::string out;
    for (const auto p : cluster_->primaries()) out += (out.empty() ? "" : ",") + std::to_string(p);
    return out;
  }

  static void step(const std::string& name, std::uint16_t port = 0) {
    const auto r = run_program(
        "/usr/bin/python3",
        {PROXY_CLUSTER_PY, name, std::to_string(port ? port : port_), primaries()}, {}, 90s);
    EXPECT_EQ(r.exit_code, 0) << "step " << name << ":\n"
                              << r.out << r.err << "\nproxy log:\n"
                              << proxy_->output();
  }

  static RedisCluster* cluster_;
  static ServeChild* proxy_;
  static std::uint16_t port_;
};

RedisCluster* ProxyCluster::cluster_ = nullptr;
ServeChild* ProxyCluster::proxy_ = nullptr;
std::uint16_t ProxyCluster::port_ = 0;

TEST_F(ProxyCluster, A_KeysOfAllSlotsRoutedBySlot) {
  step("routing");
}
TEST_F(ProxyCluster, B_MultiKeyCommandsSplitAndMerged) {
  step("multikey");
}
TEST_F(ProxyCluster, C_TransactionsStayInOneSlot) {
  step("transactions");
}
TEST_F(ProxyCluster, D_BlockingPopOnTheKeysNode) {
  step("blocking");
}
TEST_F(ProxyCluster, E_PubSub) {
  step("pubsub");
}

TEST_F(ProxyCluster, B2_ScanAcrossEveryPrimary) {
  step("scan");
}
TEST_F(ProxyCluster, E2_MovedAndAskOnPinnedLeases) {
  step("moved_pinned");
}

// A client pipelining 200 GETs of 1 MiB that it never reads is cut off at its output bound
// (32 MiB) on the cluster path too, shared and pinned: the proxy never gathers the 200 MiB.
TEST_F(ProxyCluster, E3_SlowReaderIsDisconnected) {
  step("slowreader");
  const long peak_kib = peak_rss_kib(proxy_->pid());
  ASSERT_GT(peak_kib, 0);
  std::printf("proxy peak RSS: %ld MiB\n", peak_kib / 1024);
  // Bounded: one node's replies up to the room, parsed once, rendered once (< 4 x 32 MiB).
  // Gathered whole they would be 200 MiB of Reply trees plus 200 MiB rendered.
  // Under a sanitizer the proxy (built the same way) carries its shadow memory too.
  const long bound_kib = 150L * 1024 * connpool::test::kSanitizerMemoryFactor;
  EXPECT_LT(peak_kib, bound_kib) << "the proxy's peak RSS was " << peak_kib / 1024 << " MiB";
}

TEST_F(ProxyCluster, F_RedisCli) {
  const auto port = std::to_string(port_);
  auto r = run_program("/usr/bin/redis-cli", {"-p", port, "MSET", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(r.out, "OK\n") << r.err;
  r = run_program("/usr/bin/redis-cli", {"-p", port, "MGET", "c", "a", "nope", "b"});
  EXPECT_EQ(r.out, "3\n1\n\n2\n") << r.err;
  r = run_program("/usr/bin/redis-cli", {"-p", port, "DEL", "a", "b", "c"});
  EXPECT_EQ(r.out, "3\n") << r.err;
  r = run_program("/usr/bin/redis-cli", {"-p", port, "KEYS", "*"});
  EXPECT_NE(r.out.find("rule: cluster-keyspace"), std::string::npos) << r.out << r.err;
}

// A slot moves to another primary under the proxy (CLUSTER SETSLOT + MIGRATE, as a resharding
// does): the proxy's next command for it gets MOVED, which it follows.
TEST_F(ProxyCluster, G_MovedDuringResharding) {
  const std::string key = "moving:key";
  auto r = run_program("/usr/bin/redis-cli", {"-p", std::to_string(port_), "SET", key, "payload"});
  ASSERT_EQ(r.out, "OK\n") << r.err;
  const auto any = cluster_->primaries().front();
  const int slot = std::stoi(cluster_->cli(any, "CLUSTER KEYSLOT " + key));
  const auto source = cluster_->owner_of_slot(slot);
  ASSERT_TRUE(source.has_value());
  std::uint16_t target = 0;
  for (const auto p : cluster_->primaries()) {
    if (p != *source) target = p;
  }
  const std::string s = std::to_string(slot);
  const std::string source_id = cluster_->node_id(*source);
  const std::string target_id = cluster_->node_id(target);
  EXPECT_EQ(cluster_->cli(target, "CLUSTER SETSLOT " + s + " IMPORTING " + source_id), "OK");
  EXPECT_EQ(cluster_->cli(*source, "CLUSTER SETSLOT " + s + " MIGRATING " + target_id), "OK");
  EXPECT_EQ(cluster_->cli(*source,
                          "MIGRATE 127.0.0.1 " + std::to_string(target) + " '' 0 5000 KEYS " + key),
            "OK");
  for (const auto p : cluster_->primaries()) {
    EXPECT_EQ(cluster_->cli(p, "CLUSTER SETSLOT " + s + " NODE " + target_id), "OK");
  }
  ASSERT_EQ(cluster_->owner_of_slot(slot), target);
  step("moved");
}

// `connpool serve` with a cluster pool and a proxy configured only by variables
// (CONNPOOL_PROXIES__<NAME>__<KEY>).
TEST_F(ProxyCluster, H_UnderServeFromEnvironment) {
  const std::uint16_t port = free_loopback_port();
  const std::uint16_t admin = free_loopback_port();
  TempConfig config("pools:\n  grid:\n    backend: redis\n    url: " + cluster_->url() +
                    "\n    min_size: 1\n    max_size: 4\nadmin:\n  port: " + std::to_string(admin) +
                    "\n");
  ServeChild serve({"serve", "--config", config.path(), "--drain-timeout", "5s"},
                   {"CONNPOOL_PROXIES__EDGE__POOL=grid",
                    "CONNPOOL_PROXIES__EDGE__LISTEN=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(wait_accepting(port)) << serve.output();
  step("multikey", port);
  // The log line follows the listen() that made the port accept: checked after the step.
  EXPECT_NE(serve.output().find("proxy 'edge' listening on 127.0.0.1:"), std::string::npos)
      << serve.output();
}

// Cluster Pub/Sub follows the topology: the node serving a client's subscription is killed,
// and the proxy's subscriber moves to another node and subscribes again there, so messages
// published on the surviving primaries still arrive. Last: it takes a primary down for a while.
TEST_F(ProxyCluster, I_PubSubMovesWhenItsNodeIsKilled) {
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("*2\r\n$9\r\nSUBSCRIBE\r\n$6\r\nfollow\r\n"));
  ASSERT_TRUE(client.wait_for("follow\r\n:1\r\n", 5s)) << client.received();
  const auto primaries = cluster_->primaries();
  std::uint16_t serving = 0;
  for (const auto p : primaries) {
    if (cluster_->cli(p, "PUBSUB NUMSUB follow") == "follow\n1") serving = p;
  }
  ASSERT_NE(serving, 0) << "no primary has the proxy's subscription";
  for (const auto p : primaries) (void)cluster_->cli(p, "PUBLISH follow before-kill");
  EXPECT_TRUE(client.wait_for("before-kill", 5s)) << client.received();

  cluster_->kill(serving);
  bool arrived = false;
  for (int i = 0; i < 50 && !arrived; ++i) {
    for (const auto p : primaries) {
      if (p != serving) (void)cluster_->cli(p, "PUBLISH follow after-kill");
    }
    arrived = client.wait_for("after-kill", 200ms);
  }
  EXPECT_TRUE(arrived) << "no message after the subscriber's node was killed\n"
                       << client.received() << "\nproxy log:\n"
                       << proxy_->output();
  int subscribed = 0;
  for (const auto p : primaries) {
    if (p != serving && cluster_->cli(p, "PUBSUB NUMSUB follow") == "follow\n1") ++subscribed;
  }
  EXPECT_EQ(subscribed, 1) << "the subscription moved to exactly one surviving node";

  std::string error;
  ASSERT_TRUE(cluster_->restart(serving, &error)) << error;
  EXPECT_TRUE(cluster_->wait_healthy(30s, &error)) << error;
}

}  // namespace
}  // namespace connpool::test
