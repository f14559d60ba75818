// Every route, the auth rules and the JSON documents, without sockets.
#include "admin_router.hpp"

#include "redact.hpp"
#include "support/monitor_fake_stats.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace connpool::monitor::detail {
namespace {

using connpool::test::fake_source;
using connpool::test::FakeStats;
using nlohmann::json;

HttpRequest get(std::string target, std::string auth = {}, std::string host = {}) {
  return HttpRequest{"GET", std::move(target), std::move(auth), std::move(host)};
}

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

class AdminRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stats = std::make_shared<FakeStats>();
    stats->update([](core::PoolStats& s) {
      s.total = 4;
      s.idle = 1;
      s.in_use = 3;
      s.leases = 3;
      s.connecting = 0;
      s.waiting = 2;
      s.min_size = 2;
      s.max_size = 8;
      s.utilization = 0.375;
      s.acquires = 100;
      s.acquire_timeouts = 1;
      s.created = 6;
      s.connect_failures = 1;
      s.closed_by_reason[static_cast<std::size_t>(core::CloseReason::broken)] = 2;
      s.errors_by_type[static_cast<std::size_t>(errc::connect_failed)] = 1;
      s.health_checks_ok = 9;
      s.health_checks_failed = 0;
      s.last_health_check_at =
          std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
      s.last_health_check_ok = true;
      s.last_error = Error(errc::connect_failed, "dial redis://app:hunter2@10.0.0.1:6379 refused");
    });
    auto source = fake_source("cache", "redis", stats);
    source.target = "redis://app:hunter2@10.0.0.1:6379/0";
    source.environment = "staging";
    observer = metrics->make_observer("cache", "redis");
    source.observer = observer;
    ASSERT_TRUE(pools->add(std::move(source)));
  }

  std::shared_ptr<FakeStats> stats;
  std::shared_ptr<PoolRegistry> pools = std::make_shared<PoolRegistry>();
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>(pools);
  std::shared_ptr<PrometheusObserver> observer;
};

TEST_F(AdminRouterTest, Healthz) {
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/healthz"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
}

TEST_F(AdminRouterTest, MetricsIsPrometheusText) {
  AdminRouter router(pools, metrics, "secret-token");  // /metrics is not behind the token
  observer->on_acquired(std::chrono::milliseconds(1));
  auto r = router.handle(get("/metrics"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(
      r.body.find("connection_pool_size{pool=\"cache\",backend=\"redis\",state=\"active\"} 3"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("connection_pool_wait_seconds_count{pool=\"cache\",backend=\"redis\"} 1"),
            std::string::npos);
}

TEST_F(AdminRouterTest, PoolListDocument) {
  AdminRouter router(pools, metrics, "");
  for (int i = 0; i < 99; ++i) observer->on_acquired(std::chrono::microseconds(50));
  observer->on_acquired(std::chrono::milliseconds(400));
  auto r = router.handle(get("/api/v1/admin/connection-pools"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  const auto doc = json::parse(r.body);
  ASSERT_TRUE(doc.contains("generated_at"));
  ASSERT_EQ(doc["pools"].size(), 1u);
  const auto& p = doc["pools"][0];
  EXPECT_EQ(p["name"], "cache");
  EXPECT_EQ(p["backend"], "redis");
  EXPECT_EQ(p["target"], "redis://app:***@10.0.0.1:6379/0");
  EXPECT_EQ(p["environment"], "staging");
  EXPECT_EQ(p["node"], nullptr) << "a single-endpoint pool serves no cluster node";
  EXPECT_EQ(p["ready"], true);
  EXPECT_EQ(p["state"], "healthy");
  EXPECT_EQ(p["circuit"]["enabled"], false);
  EXPECT_EQ(p["circuit"]["state"], "closed");
  EXPECT_EQ(p["circuit"]["since"], nullptr);
  EXPECT_TRUE(p["lifetimes"].is_object());
  EXPECT_FALSE(p.contains("connections")) << "only the single-pool endpoint lists connections";
  EXPECT_EQ(p["config"]["circuit_breaker"]["enabled"], false);
  EXPECT_EQ(p["size"]["idle"], 1);
  EXPECT_EQ(p["size"]["active"], 3);
  EXPECT_EQ(p["size"]["connecting"], 0);
  EXPECT_EQ(p["size"]["total"], 4);
  EXPECT_EQ(p["size"]["min"], 2);
  EXPECT_EQ(p["size"]["max"], 8);
  EXPECT_EQ(p["waiting"], 2);
  EXPECT_EQ(p["leases"], 3);
  EXPECT_DOUBLE_EQ(p["utilization"].get<double>(), 0.375);
  EXPECT_EQ(p["sizing"], "fixed");
  EXPECT_TRUE(p["target_size"].is_number());
  EXPECT_DOUBLE_EQ(p["forecast"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(p["acquire_rate"].get<double>(), 0.0);
  EXPECT_EQ(p["config"]["sizing"], "fixed");
  EXPECT_EQ(p["config"]["predictive"]["horizon_ms"], 3000);
  EXPECT_EQ(p["config"]["max_size"], 10);  // fake_source's default PoolConfig
  EXPECT_EQ(p["config"]["acquire_timeout_ms"], 5000);
  EXPECT_EQ(p["config"]["idle_order"], "lifo");
  EXPECT_EQ(p["counters"]["acquires"], 100);
  EXPECT_EQ(p["counters"]["acquire_timeouts"], 1);
  EXPECT_EQ(p["counters"]["created"], 6);
  EXPECT_EQ(p["counters"]["closed"]["broken"], 2);
  EXPECT_EQ(p["counters"]["closed"]["idle"], 0);
  EXPECT_EQ(p["counters"]["closed_total"], 2);
  EXPECT_EQ(p["counters"]["errors"], json({{"connect_failed", 1}}));
  EXPECT_EQ(p["counters"]["health_checks"]["ok"], 9);
  EXPECT_EQ(p["counters"]["health_checks"]["failed"], 0);
  EXPECT_EQ(p["last_health_check"]["at"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(p["last_health_check"]["ok"], true);
  EXPECT_EQ(p["last_error"]["type"], "connect_failed");
  EXPECT_EQ(p["last_error"]["message"], "dial redis://app:***@10.0.0.1:6379 refused");
  EXPECT_EQ(p["last_connect_error"], nullptr);
  EXPECT_EQ(p["wait_seconds"]["count"], 100);
  EXPECT_LE(p["wait_seconds"]["p50"].get<double>(), 0.0001);
  EXPECT_GT(p["wait_seconds"]["p99"].get<double>(), 0.0);
  EXPECT_LE(p["wait_seconds"]["p99"].get<double>(), 0.0001);
  EXPECT_EQ(p["wait_seconds"]["buckets"].size(), kLatencyBucketsSeconds.size());
  EXPECT_EQ(p["usage_seconds"]["count"], 0);
  // No secret anywhere in the document.
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos);
}

TEST_F(AdminRouterTest, OnePoolAndUnknownPool) {
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/api/v1/admin/connection-pools/cache"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["name"], "cache");
  EXPECT_EQ(json::parse(r.body)["connections"], nullptr) << "this source has no connection list";
  r = router.handle(get("/api/v1/admin/connection-pools/c%61che?x=1"));
  EXPECT_EQ(r.status, 200u) << "percent-escapes are decoded, queries ignored";

  r = router.handle(get("/api/v1/admin/connection-pools/nope"));
  EXPECT_EQ(r.status, 404u);
  const auto err = json::parse(r.body)["error"];
  EXPECT_EQ(err["status"], 404);
  EXPECT_EQ(err["code"], "not_found");
  r = router.handle(get("/api/v1/admin/connection-pools/%zz"));
  EXPECT_EQ(r.status, 400u);
  r = router.handle(get("/api/v1/admin/connection-pools/cache/extra"));
  EXPECT_EQ(r.status, 404u);
}

TEST_F(AdminRouterTest, ClusterNodePoolsFromAGroupAreListedAndFound) {
  ASSERT_TRUE(pools->add_group("cluster", [this] {
    auto s = fake_source("cache@10.0.0.2:7001", "redis", stats);
    s.node = "10.0.0.2:7001";
    s.owner = stats;
    return std::vector<PoolSource>{std::move(s)};
  }));
  AdminRouter router(pools, metrics, "");
  const auto doc = json::parse(router.handle(get("/api/v1/admin/connection-pools")).body);
  ASSERT_EQ(doc["pools"].size(), 2u);
  EXPECT_EQ(doc["pools"][1]["name"], "cache@10.0.0.2:7001");
  EXPECT_EQ(doc["pools"][1]["node"], "10.0.0.2:7001");
  auto r = router.handle(get("/api/v1/admin/connection-pools/cache@10.0.0.2:7001"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["node"], "10.0.0.2:7001");
}

// A proxy registered for a pool is listed in that pool's entry (list and single-pool endpoints)
// with what its snapshot says; a proxy whose pool is not registered shows nowhere.
TEST_F(AdminRouterTest, ProxiesAreListedUnderTheirPool) {
  ProxySnapshot snap;
  snap.listen = {"127.0.0.1:6380", "unix:///run/connpool.sock"};
  snap.clients_connected = 3;
  snap.clients_pinned = 1;
  snap.clients_total = 7;
  snap.commands = {{"ok", 40}, {"error", 2}};
  snap.refused_by_rule = {{"monitor", 1}};
  snap.disconnects = {{"max_clients", 4}};
  snap.latency.upper_bounds = {0.001, 0.01};
  snap.latency.cumulative = {30, 42, 42};
  snap.latency.count = 42;
  snap.latency.sum_seconds = 0.05;
  ASSERT_TRUE(pools->add_proxy({"sidecar", "cache", [snap] { return snap; }}));
  ASSERT_TRUE(pools->add_proxy({"orphan", "nope", [snap] { return snap; }}));
  EXPECT_FALSE(pools->add_proxy({"sidecar", "cache", [snap] { return snap; }}));
  EXPECT_FALSE(pools->add_proxy({"bad name", "cache", [snap] { return snap; }}));
  EXPECT_FALSE(pools->add_proxy({"nofn", "cache", nullptr}));

  AdminRouter router(pools, metrics, "");
  const auto doc = json::parse(router.handle(get("/api/v1/admin/connection-pools")).body);
  ASSERT_EQ(doc["pools"].size(), 1u);
  const auto& proxies = doc["pools"][0]["proxies"];
  ASSERT_EQ(proxies.size(), 1u) << proxies.dump();
  const auto& p = proxies[0];
  EXPECT_EQ(p["name"], "sidecar");
  EXPECT_EQ(p["pool"], "cache");
  EXPECT_EQ(p["running"], true);
  EXPECT_EQ(p["listen"], json({"127.0.0.1:6380", "unix:///run/connpool.sock"}));
  EXPECT_EQ(p["clients"]["connected"], 3);
  EXPECT_EQ(p["clients"]["pinned"], 1);
  EXPECT_EQ(p["clients"]["total"], 7);
  EXPECT_EQ(p["commands"]["ok"], 40);
  EXPECT_EQ(p["commands"]["error"], 2);
  EXPECT_EQ(p["refused_by_rule"]["monitor"], 1);
  EXPECT_EQ(p["disconnects"]["max_clients"], 4);
  EXPECT_EQ(p["latency_seconds"]["count"], 42);
  EXPECT_GT(p["latency_seconds"]["p99"].get<double>(), 0.001);

  const auto one = json::parse(router.handle(get("/api/v1/admin/connection-pools/cache")).body);
  EXPECT_EQ(one["proxies"], proxies);
  EXPECT_TRUE(pools->remove_proxy("sidecar"));
  EXPECT_FALSE(pools->remove_proxy("sidecar"));
  const auto after = json::parse(router.handle(get("/api/v1/admin/connection-pools")).body);
  EXPECT_EQ(after["pools"][0]["proxies"], json::array());
}

TEST_F(AdminRouterTest, PoolWithoutObserverOrConfigHasNulls) {
  PoolSource bare;
  bare.name = "bare";
  bare.backend = "firestore";
  bare.stats = [] { return core::PoolStats{}; };
  ASSERT_TRUE(pools->add(bare));
  AdminRouter router(pools, metrics, "");
  const auto p = json::parse(router.handle(get("/api/v1/admin/connection-pools/bare")).body);
  EXPECT_EQ(p["config"], nullptr);
  EXPECT_EQ(p["wait_seconds"], nullptr);
  EXPECT_EQ(p["last_health_check"], nullptr);
  EXPECT_EQ(p["last_error"], nullptr);
}

TEST_F(AdminRouterTest, UnknownPathIs404AndWrongMethodIs405) {
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/nope"));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");
  for (const char* m : {"POST", "PUT", "DELETE", "HEAD", "PATCH"}) {
    for (const char* path : {"/metrics", "/healthz", "/readyz", "/api/v1/admin/connection-pools",
                             "/api/v1/admin/connection-pools/cache"}) {
      r = router.handle(HttpRequest{m, path, ""});
      EXPECT_EQ(r.status, 405u) << m << " " << path;
      EXPECT_EQ(header(r, "Allow"), "GET");
      EXPECT_EQ(json::parse(r.body)["error"]["code"], "method_not_allowed");
    }
  }
  r = router.handle(HttpRequest{"POST", "/nope", ""});
  EXPECT_EQ(r.status, 404u);
}

TEST_F(AdminRouterTest, BearerTokenGuardsApiOnly) {
  AdminRouter router(pools, metrics, "s3cr3t-t0ken");
  const std::string list = "/api/v1/admin/connection-pools";
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer wrong", "Bearer s3cr3t-t0ke",
                          "Bearer s3cr3t-t0kenX", "Basic s3cr3t-t0ken", "s3cr3t-t0ken"}) {
    auto r = router.handle(get(list, bad));
    EXPECT_EQ(r.status, 401u) << "'" << bad << "'";
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "unauthenticated");
    EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"connpool\"");
    EXPECT_EQ(r.body.find("s3cr3t"), std::string::npos);
  }
  EXPECT_EQ(router.handle(get(list, "Bearer s3cr3t-t0ken")).status, 200u);
  EXPECT_EQ(router.handle(get(list, "bearer s3cr3t-t0ken")).status, 200u);
  EXPECT_EQ(router.handle(get(list + "/cache", "Bearer s3cr3t-t0ken")).status, 200u);
  // Unknown /api/ paths do not reveal themselves to unauthenticated callers.
  EXPECT_EQ(router.handle(get("/api/v2/whatever")).status, 401u);
  EXPECT_EQ(router.handle(get(list + "/nope")).status, 401u);
  // Open endpoints stay open.
  EXPECT_EQ(router.handle(get("/metrics")).status, 200u);
  EXPECT_EQ(router.handle(get("/healthz")).status, 200u);
  EXPECT_EQ(router.handle(get("/readyz")).status, 200u);
}

TEST_F(AdminRouterTest, TokenCanGuardMetricsToo) {
  AdminRouter router(pools, metrics, "tok", /*token_for_metrics=*/true);
  EXPECT_EQ(router.handle(get("/metrics")).status, 401u);
  EXPECT_EQ(router.handle(get("/metrics", "Bearer tok")).status, 200u);
  EXPECT_EQ(router.handle(get("/healthz")).status, 200u);
  EXPECT_EQ(router.handle(get("/readyz")).status, 200u);
  AdminRouter no_token(pools, metrics, "", /*token_for_metrics=*/true);
  EXPECT_EQ(no_token.handle(get("/metrics")).status, 200u);
}

TEST_F(AdminRouterTest, ProtectAllGuardsMetricsAndReadyz) {
  AdminRouter router(pools, metrics, RouterAccess{"tok", false, true, {}});
  for (const char* path : {"/metrics", "/readyz", "/api/v1/admin/connection-pools"}) {
    EXPECT_EQ(router.handle(get(path)).status, 401u) << path;
    EXPECT_EQ(router.handle(get(path, "Bearer nope")).status, 401u) << path;
    EXPECT_EQ(router.handle(get(path, "Bearer tok")).status, 200u) << path;
  }
  // Liveness and the page (no data) stay open.
  EXPECT_EQ(router.handle(get("/healthz")).status, 200u);
  EXPECT_EQ(router.handle(get("/")).status, 200u);
  // Without protect_all, readyz is open.
  AdminRouter plain(pools, metrics, RouterAccess{"tok", false, false, {}});
  EXPECT_EQ(plain.handle(get("/readyz")).status, 200u);
  EXPECT_EQ(plain.handle(get("/metrics")).status, 200u);
}

TEST_F(AdminRouterTest, RebindingHostNamesGet421OnEveryEndpoint) {
  AdminRouter router(pools, metrics, RouterAccess{"", false, false, {"pool-admin.internal"}});
  for (const char* path :
       {"/metrics", "/readyz", "/healthz", "/", "/api/v1/admin/connection-pools", "/nope"}) {
    const auto r = router.handle(get(path, {}, "evil.example.com"));
    EXPECT_EQ(r.status, 421u) << path;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "misdirected_request") << path;
    EXPECT_EQ(r.body.find("evil"), std::string::npos) << "the name is not echoed";
    EXPECT_EQ(router.handle(get(path, {}, "evil.example.com:9464")).status, 421u) << path;
  }
  // Accepted: IP literals (any address, with or without port), localhost, allowed names.
  for (const char* host : {"127.0.0.1", "127.0.0.1:9464", "10.1.2.3:80", "[::1]", "[::1]:9464",
                           "[fe80::1]:1", "localhost", "LOCALHOST:9464", "localhost.",
                           "pool-admin.internal", "Pool-Admin.Internal:9464", ""}) {
    EXPECT_EQ(router.handle(get("/healthz", {}, host)).status, 200u) << host;
  }
  // Refused: other names, look-alikes, odd address forms a resolver might still map, and junk.
  for (const char* host : {"localhost.evil.com", "127.0.0.1.nip.io", "admin.internal", "0x7f.1",
                           "2130706433", "127.1", "::1", "[::1", "[::1]x", "[::1]:", "127.0.0.1:",
                           "127.0.0.1:abc", "127.0.0.1:123456", ":9464", "[not-an-ip]"}) {
    EXPECT_EQ(router.handle(get("/healthz", {}, host)).status, 421u) << host;
  }
}

TEST_F(AdminRouterTest, RebindingCheckComesBeforeAuth) {
  AdminRouter router(pools, metrics, RouterAccess{"tok", false, true, {}});
  EXPECT_EQ(router.handle(get("/api/v1/admin/connection-pools", "Bearer tok", "evil.test")).status,
            421u);
  EXPECT_EQ(router.handle(get("/metrics", "", "evil.test")).status, 421u);
}

TEST_F(AdminRouterTest, AdminJsonRedactsSentinelPasswordsAndCapsErrorTexts) {
  stats->update([](core::PoolStats& s) {
    s.last_error = Error(errc::server_error, "ERR " + std::string(200000, '&') + " tail");
    s.last_connect_error =
        Error(errc::auth_failed,
              "sentinel auth failed for redis-sentinel://h:26379/m?sentinel_password=s3nt&db=0");
  });
  AdminRouter router(pools, metrics, "");
  const auto r = router.handle(get("/api/v1/admin/connection-pools/cache"));
  ASSERT_EQ(r.status, 200u);
  const auto doc = json::parse(r.body);
  EXPECT_EQ(r.body.find("s3nt"), std::string::npos);
  EXPECT_NE(
      doc["last_connect_error"]["message"].get<std::string>().find("sentinel_password=***&db=0"),
      std::string::npos);
  const auto shown = doc["last_error"]["message"].get<std::string>();
  EXPECT_LE(shown.size(), kMaxShownErrorBytes + 64);
  EXPECT_NE(shown.find("(truncated; 200009 bytes in all)"), std::string::npos) << shown;
}

TEST_F(AdminRouterTest, ReadinessNeedsMinSizeAndAPassingHealthCheck) {
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/readyz"));
  EXPECT_EQ(r.status, 200u);
  auto doc = json::parse(r.body);
  EXPECT_EQ(doc["status"], "ready");
  EXPECT_EQ(doc["pools"][0]["ready"], true);

  stats->update([](core::PoolStats& s) { s.total = 1; });  // below min_size 2
  r = router.handle(get("/readyz"));
  EXPECT_EQ(r.status, 503u);
  doc = json::parse(r.body);
  EXPECT_EQ(doc["status"], "not_ready");
  EXPECT_EQ(doc["pools"][0]["name"], "cache");
  EXPECT_EQ(doc["pools"][0]["reasons"], json::array({"1 of min_size 2 connections open"}));

  stats->update([](core::PoolStats& s) {
    s.total = 2;
    s.last_health_check_ok = false;
  });
  r = router.handle(get("/readyz"));
  EXPECT_EQ(r.status, 503u);
  doc = json::parse(r.body);
  ASSERT_EQ(doc["pools"][0]["reasons"].size(), 1u);
  EXPECT_EQ(doc["pools"][0]["reasons"][0], "last health check failed at 2023-11-14T22:13:20.000Z");

  stats->update([](core::PoolStats& s) {
    s.last_health_check_ok = true;
    s.closed = true;
  });
  EXPECT_EQ(router.handle(get("/readyz")).status, 503u);
}

TEST_F(AdminRouterTest, ReadinessPerPool) {
  auto other = std::make_shared<FakeStats>();
  other->update([](core::PoolStats& s) { s.min_size = 1; });  // 0 of 1 open
  ASSERT_TRUE(pools->add(fake_source("docs", "firestore", other)));
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/readyz"));
  EXPECT_EQ(r.status, 503u);
  const auto doc = json::parse(r.body);
  ASSERT_EQ(doc["pools"].size(), 2u);
  EXPECT_EQ(doc["pools"][0]["name"], "cache");
  EXPECT_EQ(doc["pools"][0]["ready"], true);
  EXPECT_EQ(doc["pools"][1]["name"], "docs");
  EXPECT_EQ(doc["pools"][1]["ready"], false);
}

TEST_F(AdminRouterTest, CircuitStateShowsInStateReadinessAndConnections) {
  stats->update([](core::PoolStats& s) {
    s.circuit_enabled = true;
    s.circuit_state = core::CircuitState::open;
    s.circuit_since = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    s.circuit_rejections = 12;
  });
  PoolSource with_conns = *pools->find("cache");
  pools->remove("cache");
  with_conns.connections = [] {
    core::ConnectionInfo c;
    c.id = 7;
    c.state = core::ConnectionInfo::State::in_use;
    c.age = std::chrono::seconds(90);
    c.use_count = 1234;
    c.leases = 1;
    return std::vector<core::ConnectionInfo>{c};
  };
  ASSERT_TRUE(pools->add(with_conns));
  AdminRouter router(pools, metrics, "");
  auto p = json::parse(router.handle(get("/api/v1/admin/connection-pools/cache")).body);
  EXPECT_EQ(p["state"], "circuit_open");
  EXPECT_EQ(p["ready"], false);
  EXPECT_EQ(p["not_ready_reasons"], json::array({"circuit breaker is open"}));
  EXPECT_EQ(p["circuit"]["state"], "open");
  EXPECT_EQ(p["circuit"]["since"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(p["circuit"]["rejections"], 12);
  ASSERT_EQ(p["connections"].size(), 1u);
  EXPECT_EQ(p["connections"][0]["id"], 7);
  EXPECT_EQ(p["connections"][0]["state"], "in_use");
  EXPECT_EQ(p["connections"][0]["age_seconds"], 90.0);
  EXPECT_EQ(p["connections"][0]["uses"], 1234);
  // The connections alone, at the path issue 7 names.
  auto only = router.handle(get("/api/v1/admin/connection-pools/cache/connections"));
  ASSERT_EQ(only.status, 200u);
  auto c = json::parse(only.body);
  EXPECT_EQ(c["name"], "cache");
  ASSERT_EQ(c["connections"].size(), 1u);
  EXPECT_EQ(c["connections"][0]["id"], 7);
  EXPECT_FALSE(c.contains("counters"));
  EXPECT_EQ(router.handle(get("/api/v1/admin/connection-pools/nope/connections")).status, 404u);
  EXPECT_EQ(router.handle(get("/readyz")).status, 503u);
  const auto text = router.handle(get("/metrics")).body;
  EXPECT_NE(
      text.find("connection_pool_circuit_state{pool=\"cache\",backend=\"redis\",state=\"open\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "connection_pool_circuit_state{pool=\"cache\",backend=\"redis\",state=\"closed\"} 0"),
      std::string::npos);

  stats->update([](core::PoolStats& s) { s.circuit_state = core::CircuitState::half_open; });
  p = json::parse(router.handle(get("/api/v1/admin/connection-pools/cache")).body);
  EXPECT_EQ(p["state"], "degraded");
  EXPECT_EQ(p["ready"], true);
}

TEST_F(AdminRouterTest, StateIsDegradedWhenNotReadyAndClosedWhenClosed) {
  AdminRouter router(pools, metrics, "");
  stats->update([](core::PoolStats& s) { s.total = 0; });
  auto p = json::parse(router.handle(get("/api/v1/admin/connection-pools/cache")).body);
  EXPECT_EQ(p["state"], "degraded");
  stats->update([](core::PoolStats& s) { s.closed = true; });
  p = json::parse(router.handle(get("/api/v1/admin/connection-pools/cache")).body);
  EXPECT_EQ(p["state"], "closed");
}

TEST_F(AdminRouterTest, ThrowingStatsSourceBecomes500WithoutDetails) {
  PoolSource bad;
  bad.name = "bad";
  bad.stats = []() -> core::PoolStats { throw std::runtime_error("password=oops"); };
  ASSERT_TRUE(pools->add(bad));
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/api/v1/admin/connection-pools/bad"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body.find("oops"), std::string::npos);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "internal");
}

TEST_F(AdminRouterTest, InvalidUtf8InErrorsIsReplacedNotThrown) {
  stats->update(
      [](core::PoolStats& s) { s.last_error = Error(errc::protocol_error, "bad \xff byte"); });
  AdminRouter router(pools, metrics, "");
  auto r = router.handle(get("/api/v1/admin/connection-pools/cache"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(json::accept(r.body));
}

TEST_F(AdminRouterTest, ExtraRoutesCanBeAdded) {
  AdminRouter router(pools, metrics, "");
  router.add_get("/", false, [](const HttpRequest&, std::string_view) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = "<!doctype html>";
    return r;
  });
  auto r = router.handle(get("/"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
}

TEST(ConstantTimeEqual, Semantics) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0", 2), "a"));
}

TEST(PercentDecode, Cases) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b%2Fc", out));
  EXPECT_EQ(out, "a b/c");
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_FALSE(percent_decode("a%", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

}  // namespace
}  // namespace connpool::monitor::detail
