// End to end on a real Redis Cluster (3 primaries, no replicas) and a real Sentinel set-up (one
// master, one replica, three Sentinels), both started once for this binary: `connpool serve`
// with a redis-cluster:// pool and a redis-sentinel:// pool under `--load` lists every node pool
// with its node in the admin API and /metrics, and `connpool check` pings every primary / the
// master the Sentinels name.
#include "cli_process.hpp"
#include "support/promtool.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_process.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;

RedisCluster* g_cluster = nullptr;
RedisSentinelCluster* g_sentinel = nullptr;

class ServersEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    RedisClusterOptions options;
    options.replicas_per_primary = 0;  // nodes with slots are all this test needs
    cluster_ = RedisCluster::start(options, &error);
    if (cluster_) sentinel_ = RedisSentinelCluster::start({}, &error);
    if (!cluster_ || !sentinel_) {
      // Every test needs both: stop here with the reason rather than fail each test.
      std::fprintf(stderr, "cannot start the Redis servers: %s\n", error.c_str());
      std::exit(1);
    }
    g_cluster = cluster_.get();
    g_sentinel = sentinel_.get();
  }
  void TearDown() override {
    g_cluster = nullptr;
    g_sentinel = nullptr;
    sentinel_.reset();
    cluster_.reset();
  }

 private:
  std::unique_ptr<RedisCluster> cluster_;
  std::unique_ptr<RedisSentinelCluster> sentinel_;
};

[[maybe_unused]] auto* const g_env =
    ::testing::AddGlobalTestEnvironment(new ServersEnvironment);  // gtest owns it

// The pools' entries in GET /api/v1/admin/connection-pools.
nlohmann::json pools_json(std::uint16_t admin) {
  const std::string body = http_body(http_get(admin, "/api/v1/admin/connection-pools"));
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("pools") ? j["pools"] : nlohmann::json::array();
}

// "host:port" of every node pool of the cluster pool `pool` (its main pools, not "-exclusive").
std::set<std::string> node_pools(const nlohmann::json& pools, const std::string& pool) {
  std::set<std::string> nodes;
  for (const auto& p : pools) {
    if (!p["node"].is_string()) continue;
    const std::string node = p["node"];
    if (p["name"] == pool + "@" + node) nodes.insert(node);
  }
  return nodes;
}

std::string port_node(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// "load on 'shards': 1234 ops, 0 errors" from serve's last log lines.
std::pair<long, long> load_summary(const std::string& log, const std::string& pool) {
  std::smatch m;
  const std::regex re("load on '" + pool + "': (\\d+) ops, (\\d+) errors");
  if (!std::regex_search(log, m, re)) return {-1, -1};
  return {std::stol(m[1]), std::stol(m[2])};
}

TEST(CliClusterSentinel, ServeListsNodePoolsAndLoadsBothPools) {
  const std::uint16_t admin = free_loopback_port();
  const std::vector<std::uint16_t> primaries = g_cluster->primaries();
  ASSERT_EQ(primaries.size(), 3u);
  TempConfig config(
      "pools:\n"
      "  shards:\n"
      "    backend: redis\n"
      "    url: '" +
      g_cluster->url() +
      "'\n"
      "    min_size: 1\n"
      "    max_size: 4\n"
      "  ha:\n"
      "    backend: redis\n"
      "    url: '" +
      g_sentinel->url() +
      "'\n"
      "    min_size: 1\n"
      "    max_size: 4\n"
      "admin:\n"
      "  port: " +
      std::to_string(admin) + "\n");
  const int workers = 2;
  ServeChild serve({"serve", "--config", config.path(), "--drain-timeout", "5s", "--load",
                    std::to_string(workers), "--load-rate", "200"},
                   {"HOME=/tmp"});

  // The cluster's node pools appear once the load's first command has loaded the slot map.
  nlohmann::json pools;
  std::set<std::string> nodes;
  for (int i = 0; i < 300 && nodes.size() < primaries.size(); ++i) {
    std::this_thread::sleep_for(50ms);
    pools = pools_json(admin);
    nodes = node_pools(pools, "shards");
  }
  std::set<std::string> expected;
  for (auto port : primaries) expected.insert(port_node(port));
  ASSERT_EQ(nodes, expected) << pools.dump(1) << serve.output();
  bool sentinel_pool = false;
  for (const auto& p : pools) {
    if (p["name"] == "ha") {
      sentinel_pool = true;
      EXPECT_TRUE(p["node"].is_null()) << p.dump();
    }
    // The configuration's pool keys size every node's pool and the Sentinel master's pool.
    if (p["name"] == "ha" ||
        (p["node"].is_string() && p["name"] == "shards@" + p["node"].get<std::string>())) {
      EXPECT_EQ(p["size"]["max"], 4) << p.dump();
      EXPECT_EQ(p["size"]["min"], 1) << p.dump();
    }
    // A cluster has no pool of its own: only node pools carry its name.
    EXPECT_NE(p["name"], "shards") << p.dump();
  }
  EXPECT_TRUE(sentinel_pool) << pools.dump(1);

  const std::string metrics = http_body(http_get(admin, "/metrics"));
  // Every primary's pools export their sizes with node="127.0.0.1:P" and pool="shards" (its
  // exclusive pool: pool="shards-exclusive"), in whatever order the exposition puts the labels.
  for (auto port : primaries) {
    const std::string node = "node=\"" + port_node(port) + "\"";
    std::istringstream lines(metrics);
    std::string line;
    int main_series = 0;
    while (std::getline(lines, line)) {
      if (!line.starts_with("connection_pool_size{") || line.find(node) == std::string::npos) {
        continue;
      }
      const bool main_pool = line.find("pool=\"shards\"") != std::string::npos;
      main_series += main_pool ? 1 : 0;
      EXPECT_TRUE(main_pool || line.find("pool=\"shards-exclusive\"") != std::string::npos) << line;
    }
    EXPECT_GT(main_series, 0) << port << "\n" << metrics;
  }
  EXPECT_NE(metrics.find("pool=\"ha\""), std::string::npos);
  EXPECT_EQ(metrics.find("pool=\"shards@"), std::string::npos) << "node left in the pool label";
  if (have_program("promtool")) {
    const auto check = promtool_check_metrics(metrics);
    EXPECT_EQ(check.status, 0) << check.output;
  } else {
    ADD_FAILURE() << kInstallPrometheus;
  }

  // The load reached every primary and the master: its SETs left keys there.
  for (auto port : primaries) {
    std::string keys;
    for (int i = 0; i < 100 && (keys.empty() || keys == "0"); ++i) {
      keys = g_cluster->cli(port, "DBSIZE");
      if (keys.empty() || keys == "0") std::this_thread::sleep_for(50ms);
    }
    EXPECT_GT(std::atol(keys.c_str()), 0) << "no load keys on primary " << port;
  }
  const std::uint16_t master = g_sentinel->master_port();
  ASSERT_NE(master, 0);
  std::string master_keys;
  for (int i = 0; i < 100 && std::atol(master_keys.c_str()) == 0; ++i) {
    master_keys = g_sentinel->cli(master, "DBSIZE");
    if (std::atol(master_keys.c_str()) == 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(std::atol(master_keys.c_str()), 0) << "no load keys on the master " << master;

  serve.signal(SIGTERM);
  ASSERT_EQ(serve.wait_exit(30s), 0) << serve.output();
  const std::string log = serve.output();
  EXPECT_NE(log.find("drained"), std::string::npos) << log;
  for (const char* pool : {"shards", "ha"}) {
    const auto [ops, errors] = load_summary(log, pool);
    EXPECT_GT(ops, 0) << pool << "\n" << log;
    // Only an operation in flight when the drain began may fail: at most one per worker.
    EXPECT_GE(errors, 0) << pool << "\n" << log;
    EXPECT_LE(errors, workers) << pool << "\n" << log;
  }
  EXPECT_FALSE(loopback_accepts(admin)) << "admin port still open after exit";
}

TEST(CliClusterSentinel, CheckPingsEveryPrimaryOfACluster) {
  auto r = run_connpool({"check"}, {{"REDIS_URL", g_cluster->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("healthy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PONG from 3 primaries (3 nodes)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 1 pools healthy"), std::string::npos) << r.out;
}

TEST(CliClusterSentinel, CheckPingsTheMasterTheSentinelsName) {
  const std::uint16_t master = g_sentinel->master_port();
  ASSERT_NE(master, 0);
  auto r = run_connpool({"check"}, {{"REDIS_URL", g_sentinel->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PONG from master " + port_node(master)), std::string::npos) << r.out;
}

TEST(CliClusterSentinel, CheckPingsAReplicaWithRoleReplica) {
  const std::uint16_t master = g_sentinel->master_port();
  ASSERT_NE(master, 0);
  std::uint16_t replica = 0;
  for (const auto port : g_sentinel->data_ports()) {
    if (port != master) replica = port;
  }
  ASSERT_NE(replica, 0);
  ASSERT_TRUE(g_sentinel->wait_replica_healthy(replica, std::chrono::seconds(20)));
  auto r = run_connpool({"check"}, {{"REDIS_URL", g_sentinel->url("role=replica")}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PONG from replica " + port_node(replica)), std::string::npos) << r.out;
}

TEST(CliClusterSentinel, CheckFailsClearlyWhenNoClusterNodeAnswers) {
  const std::string url =
      "redis-cluster://:s3cret@127.0.0.1:" + std::to_string(free_loopback_port());
  auto r = run_connpool({"check"}, {{"REDIS_URL", url}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("UNHEALTHY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no slot map"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no node answered CLUSTER SLOTS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Connection refused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 of 1 pools healthy"), std::string::npos) << r.out;
}

TEST(CliClusterSentinel, CheckFailsClearlyWhenNoSentinelAnswers) {
  const std::string url =
      "redis-sentinel://127.0.0.1:" + std::to_string(free_loopback_port()) + "/mymaster";
  auto r = run_connpool({"check"}, {{"REDIS_URL", url}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("UNHEALTHY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no master: unavailable: redis-sentinel: no Sentinel reachable for master "
                       "'mymaster'"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace connpool::test
