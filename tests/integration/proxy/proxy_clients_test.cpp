// `connpool proxy` with real clients: each step of proxy_clients.py (redis-py) runs against a
// proxy in front of a private redis-server; redis-cli and redis-benchmark go through it too;
// the server is killed and restarted under it.
#include "integration/cli/cli_process.hpp"
#include "proxy_test_util.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;
constexpr int kMaxSize = 4;  // the upstream pool's max_size: 200 clients must fit into it

class ProxyClients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    redis_ = RedisServer::start({}, &error).release();
    ASSERT_NE(redis_, nullptr) << error;
    port_ = free_loopback_port();
    proxy_ = new ServeChild({"proxy", "--listen", "127.0.0.1:" + std::to_string(port_), "--url",
                             redis_->url("max_size=" + std::to_string(kMaxSize))},
                            {});
    for (int i = 0; i < 200 && !accepts(port_); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(accepts(port_)) << proxy_->output();
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete redis_;
  }

  static void step(const std::string& name) {
    const auto r = run_program("/usr/bin/python3",
                               {PROXY_CLIENTS_PY, name, std::to_string(port_),
                                std::to_string(redis_->port()), std::to_string(kMaxSize)},
                               {}, 90s);
    EXPECT_EQ(r.exit_code, 0) << "step " << name << ":\n"
                              << r.out << r.err << "\nproxy log:\n"
                              << proxy_->output();
  }

  static RedisServer* redis_;
  static ServeChild* proxy_;
  static std::uint16_t port_;
};

RedisServer* ProxyClients::redis_ = nullptr;
ServeChild* ProxyClients::proxy_ = nullptr;
std::uint16_t ProxyClients::port_ = 0;

// Runs first, while only the shared pool has connections on the server.
TEST_F(ProxyClients, A_TwoHundredClientsShareMaxSizeConnections) {
  step("concurrency");
}
TEST_F(ProxyClients, B_GetSetPipelinesAndRefusals) {
  step("basic");
}
TEST_F(ProxyClients, C_TransactionsAndWatchConflict) {
  step("transactions");
}
TEST_F(ProxyClients, D_BlockingPop) {
  step("blocking");
}
TEST_F(ProxyClients, E_PubSub) {
  step("pubsub");
}
TEST_F(ProxyClients, F_ClientKilledMidTransactionLeavesCleanConnections) {
  step("killed");
}

TEST_F(ProxyClients, G_RedisCliAndRedisBenchmark) {
  const auto port = std::to_string(port_);
  auto r = run_program("/usr/bin/redis-cli", {"-p", port, "SET", "cli", "v"});
  EXPECT_EQ(r.out, "OK\n") << r.err;
  r = run_program("/usr/bin/redis-cli", {"-p", port, "GET", "cli"});
  EXPECT_EQ(r.out, "v\n") << r.err;
  r = run_program("/usr/bin/redis-cli", {"-p", port, "SHUTDOWN"});
  EXPECT_NE(r.out.find("rule: shutdown"), std::string::npos) << r.out << r.err;
  r = run_program("/usr/bin/redis-benchmark",
                  {"-p", port, "-t", "get,set", "-n", "5000", "-c", "20", "-d", "16", "-q"}, {},
                  60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("SET: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GET: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("requests per second"), std::string::npos) << r.out;
}

// A client that pipelines 200 MiB of replies and never reads is cut off at max_output_bytes.
TEST_F(ProxyClients, F_SlowReaderIsDisconnected) {
  step("slowreader");
}

// examples/python/redis_pool.py: the original helpers on redis-py pointed at the proxy.
TEST_F(ProxyClients, G_PythonExample) {
  const auto r =
      run_program("/usr/bin/python3", {PYTHON_EXAMPLE},
                  {{"CONNPOOL_PROXY_URL", "redis://127.0.0.1:" + std::to_string(port_)}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("redis_get('key') -> 'value'"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("pipeline -> [True, True]"), std::string::npos) << r.out;
}

TEST_F(ProxyClients, H_UpstreamKilledAndRestarted) {
  redis_->stop();
  step("down");
  std::string error;
  ASSERT_TRUE(redis_->restart(&error)) << error;
  step("back");
}

// `proxies:` in the YAML file: `connpool serve` runs the proxy next to its pool and stops it on
// SIGTERM.
TEST_F(ProxyClients, I_UnderServe) {
  const std::uint16_t port = free_loopback_port();
  const std::uint16_t admin = free_loopback_port();
  TempConfig config("pools:\n  cache:\n    backend: redis\n    url: " + redis_->url() +
                    "\n    min_size: 1\n    max_size: 4\nproxies:\n  sidecar:\n    pool: cache\n"
                    "    listen: [127.0.0.1:" +
                    std::to_string(port) + "]\nadmin:\n  port: " + std::to_string(admin) + "\n");
  ServeChild serve({"serve", "--config", config.path(), "--drain-timeout", "5s"}, {});
  for (int i = 0; i < 200 && !accepts(port); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(accepts(port)) << serve.output();
  auto r = run_program("/usr/bin/redis-cli", {"-p", std::to_string(port), "INCR", "served"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find_first_of("0123456789"), std::string::npos) << r.out;
  EXPECT_NE(serve.output().find("proxy 'sidecar' listening on 127.0.0.1:"), std::string::npos)
      << serve.output();
  run_program("/usr/bin/redis-cli", {"-p", std::to_string(port), "MONITOR"});
  const std::string metrics = http_body(http_get(admin, "/metrics"));
  EXPECT_NE(metrics.find("connection_proxy_clients{proxy=\"sidecar\",pool=\"cache\"}"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("connection_proxy_commands_total{proxy=\"sidecar\",pool=\"cache\","
                         "result=\"ok\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("connection_proxy_refused_total{proxy=\"sidecar\",pool=\"cache\","
                         "rule=\"monitor\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("connection_proxy_command_duration_seconds_count{proxy=\"sidecar\""),
            std::string::npos)
      << metrics;

  // The admin JSON lists the proxy under its pool with the same numbers.
  const std::string body = http_body(http_get(admin, "/api/v1/admin/connection-pools"));
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << body;
  // "cache" and its "cache-exclusive" companion (pinned clients' leases); only "cache" is the
  // pool the proxy names.
  nlohmann::json pool;
  for (const auto& p : doc["pools"]) {
    if (p["name"] == "cache") {
      pool = p;
    } else {
      EXPECT_EQ(p["proxies"], nlohmann::json::array()) << p["name"];
    }
  }
  ASSERT_TRUE(pool.is_object()) << body;
  ASSERT_EQ(pool["proxies"].size(), 1u) << body;
  const auto& p = pool["proxies"][0];
  EXPECT_EQ(p["name"], "sidecar");
  EXPECT_EQ(p["pool"], "cache");
  EXPECT_EQ(p["running"], true);
  EXPECT_EQ(p["listen"], nlohmann::json({"127.0.0.1:" + std::to_string(port)})) << body;
  // Both redis-cli runs have exited, but the proxy may not have seen the last EOF yet.
  EXPECT_LE(p["clients"]["connected"].get<int>(), 1) << body;
  EXPECT_EQ(p["clients"]["pinned"], 0) << body;
  EXPECT_GE(p["clients"]["total"].get<int>(), 2) << body;
  EXPECT_EQ(p["commands"]["ok"], 1) << body;
  EXPECT_EQ(p["refused_by_rule"]["monitor"], 1) << body;
  EXPECT_GE(p["latency_seconds"]["count"].get<int>(), 1) << body;
  // The single-pool endpoint carries it too.
  const auto one = nlohmann::json::parse(
      http_body(http_get(admin, "/api/v1/admin/connection-pools/cache")), nullptr, false);
  ASSERT_FALSE(one.is_discarded());
  EXPECT_EQ(one["proxies"][0]["name"], "sidecar");

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(20s), 0) << serve.output();
  EXPECT_FALSE(accepts(port));
}

// A proxy naming a pool that does not exist is a configuration error naming the key.
TEST_F(ProxyClients, J_ServeRejectsAProxyWithoutItsPool) {
  TempConfig config("pools:\n  cache:\n    backend: redis\n    url: " + redis_->url() +
                    "\nproxies:\n  sidecar:\n    pool: nope\n    listen: 127.0.0.1:1\n");
  const auto r = run_connpool({"serve", "--config", config.path()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("proxies.sidecar.pool: no pool is called 'nope'"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace connpool::test
