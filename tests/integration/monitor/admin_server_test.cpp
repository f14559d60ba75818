// The admin server over real loopback HTTP connections.
#include "connpool/monitor/admin_server.hpp"

#include "http_test_client.hpp"
#include "monitor_fixture.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace connpool::monitor {
namespace {

using namespace std::chrono_literals;
using connpool::test::http_get;
using connpool::test::HttpTestClient;
using nlohmann::json;

class AdminServerTest : public ::testing::Test, public connpool::test::MonitorFixture {};

TEST_F(AdminServerTest, BindsLoopbackOnAnEphemeralPort) {
  auto server = start();
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));
}

TEST_F(AdminServerTest, EveryEndpoint) {
  auto server = start();
  const auto port = server.port();

  auto r = http_get(port, "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(r.body)["status"], "ok");

  r = http_get(port, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("connection_pool_size{pool=\"cache\",backend=\"redis\",state=\"idle\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("connection_pool_wait_seconds_count{pool=\"cache\",backend=\"redis\"} 2"),
            std::string::npos);
  EXPECT_NE(r.body.find("connection_pool_min_size{pool=\"docs\",backend=\"firestore\"} 1"),
            std::string::npos);

  r = http_get(port, "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["status"], "ready");

  r = http_get(port, "/api/v1/admin/connection-pools");
  ASSERT_EQ(r.status, 200u);
  auto doc = json::parse(r.body);
  ASSERT_EQ(doc["pools"].size(), 2u);
  EXPECT_EQ(doc["pools"][0]["name"], "cache");
  EXPECT_EQ(doc["pools"][0]["target"], "redis://app:***@127.0.0.1:6379/0");
  EXPECT_EQ(doc["pools"][0]["size"]["active"], 2);
  EXPECT_EQ(doc["pools"][0]["wait_seconds"]["count"], 2);
  EXPECT_EQ(doc["pools"][1]["name"], "docs");
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos);

  r = http_get(port, "/api/v1/admin/connection-pools/docs");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["backend"], "firestore");

  r = http_get(port, "/api/v1/admin/connection-pools/missing");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");

  r = http_get(port, "/no/such/path");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");

  HttpTestClient client(port);
  r = client.request("POST", "/metrics");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "GET");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "method_not_allowed");
  r = client.request("DELETE", "/api/v1/admin/connection-pools/cache");
  EXPECT_EQ(r.status, 405u);
}

TEST_F(AdminServerTest, ReadyzTurns503WithReasons) {
  auto server = start();
  docs_stats->update([](core::PoolStats& s) { s.total = 0; });
  auto r = http_get(server.port(), "/readyz");
  EXPECT_EQ(r.status, 503u);
  auto doc = json::parse(r.body);
  EXPECT_EQ(doc["status"], "not_ready");
  EXPECT_EQ(doc["pools"][1]["reasons"][0], "0 of min_size 1 connections open");
  docs_stats->update([](core::PoolStats& s) { s.total = 1; });
  EXPECT_EQ(http_get(server.port(), "/readyz").status, 200u);
}

TEST_F(AdminServerTest, BearerToken) {
  AdminServerOptions options;
  options.bearer_token = "tok-123";
  auto server = start(options);
  const auto port = server.port();
  const std::string list = "/api/v1/admin/connection-pools";
  auto r = http_get(port, list);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"connpool\"");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unauthenticated");
  EXPECT_EQ(http_get(port, list, "Bearer tok-12").status, 401u);
  EXPECT_EQ(http_get(port, list, "Bearer tok-1234").status, 401u);
  EXPECT_EQ(http_get(port, list, "Basic tok-123").status, 401u);
  EXPECT_EQ(http_get(port, list + "/cache").status, 401u);
  EXPECT_EQ(http_get(port, list, "Bearer tok-123").status, 200u);
  EXPECT_EQ(http_get(port, list + "/cache", "Bearer tok-123").status, 200u);
  EXPECT_EQ(http_get(port, "/metrics").status, 200u);
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);
  EXPECT_EQ(http_get(port, "/readyz").status, 200u);
}

TEST_F(AdminServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = start();
  HttpTestClient client(server.port());
  for (int i = 0; i < 100; ++i) {
    auto r = client.get(i % 2 ? "/metrics" : "/api/v1/admin/connection-pools");
    ASSERT_EQ(r.status, 200u) << i;
    ASSERT_TRUE(r.keep_alive) << i;
  }
}

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = start();
  HttpTestClient client(server.port());
  client.send_raw(
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(client.read_response()->status, 200u);
  EXPECT_EQ(client.read_response()->status, 404u);
  EXPECT_EQ(client.read_response()->status, 200u);
}

TEST_F(AdminServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  auto server = start();
  HttpTestClient client(server.port());
  auto r = client.request("GET", "/healthz", {}, 10);
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(AdminServerTest, ConnectionCloseIsHonoured) {
  auto server = start();
  HttpTestClient client(server.port());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(AdminServerTest, OversizedHeadersGet431AndAreDisconnected) {
  AdminServerOptions options;
  options.max_header_bytes = 4096;
  auto server = start(options);
  HttpTestClient client(server.port());
  client.send_raw("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                  std::string(64 * 1024, 'a') + "\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431u);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "request_too_large");
  EXPECT_TRUE(client.closed_by_server());
  // The server is still fine.
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
}

TEST_F(AdminServerTest, OversizedBodyGets413) {
  auto server = start();
  HttpTestClient client(server.port());
  client.send_raw("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n" +
                  std::string(8192, 'b'));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(AdminServerTest, MalformedRequestGets400) {
  auto server = start();
  HttpTestClient client(server.port());
  client.send_raw("THIS IS NOT HTTP\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "bad_request");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(AdminServerTest, SlowHeaderClientIsCutOffAndDoesNotBlockOthers) {
  AdminServerOptions options;
  options.header_timeout = 400ms;
  auto server = start(options);
  HttpTestClient slow(server.port());
  slow.send_raw("GET /metrics HTTP/1.1\r\n");
  // Trickle one header byte every 50 ms: each byte arrives well within any per-read timeout,
  // but the whole header never completes, so only a total deadline stops it.
  const std::string trickle = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  bool cut_off = false;
  for (std::size_t i = 0; i < trickle.size() && !cut_off; ++i) {
    try {
      slow.send_raw(trickle.substr(i, 1));
    } catch (const std::exception&) {
      cut_off = true;  // the server closed: writing fails with EPIPE / reset
    }
    // Meanwhile other clients are served.
    if (i % 8 == 0) {
      ASSERT_EQ(http_get(server.port(), "/healthz").status, 200u);
    }
    std::this_thread::sleep_for(50ms);
  }
  // The server answered 408 and closed, or closed outright; either way it stopped waiting.
  if (!cut_off) {
    auto r = slow.read_response();
    if (r) {
      EXPECT_EQ(r->status, 408u);
    }
    EXPECT_TRUE(slow.closed_by_server());
  }
}

TEST_F(AdminServerTest, IdleKeepAliveConnectionsAreClosed) {
  AdminServerOptions options;
  options.idle_timeout = 300ms;
  auto server = start(options);
  HttpTestClient client(server.port());
  EXPECT_EQ(client.get("/healthz").status, 200u);
  EXPECT_TRUE(client.closed_by_server());  // read blocks until the server gives up on us
}

TEST_F(AdminServerTest, SilentNewConnectionsGetOnlyTheHeaderTimeout) {
  AdminServerOptions options;
  options.header_timeout = 300ms;
  options.idle_timeout = 60s;  // would outlast the client's 10 s read timeout
  auto server = start(options);
  HttpTestClient silent(server.port());
  EXPECT_TRUE(silent.closed_by_server());
}

TEST_F(AdminServerTest, AtTheLimitTheLongestIdleConnectionMakesRoom) {
  AdminServerOptions options;
  options.max_connections = 2;
  options.idle_timeout = 60s;  // only the cap may close them here
  auto server = start(options);
  HttpTestClient a(server.port());
  ASSERT_EQ(a.get("/healthz").status, 200u);
  HttpTestClient b(server.port());
  ASSERT_EQ(b.get("/healthz").status, 200u);
  // b's request came after a's: a has been idle longest and is closed to make room for c.
  HttpTestClient c(server.port());
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_TRUE(a.closed_by_server());
  EXPECT_EQ(b.get("/healthz").status, 200u);
  EXPECT_EQ(c.get("/healthz").status, 200u);
}

// The attack of issue 16: idle sockets up to the cap. Prometheus and the readiness probe must
// still get through, against the real server with its default cap.
TEST_F(AdminServerTest, IdleSocketsAtTheCapDoNotLockOutScrapes) {
  AdminServerOptions options;
  options.header_timeout = 60s;  // the idle sockets would outlive the test on timeouts alone
  options.idle_timeout = 60s;
  ASSERT_EQ(options.max_connections, 64u) << "the default cap";
  auto server = start(options);
  std::vector<std::unique_ptr<HttpTestClient>> idle;
  for (std::size_t i = 0; i < options.max_connections; ++i) {
    idle.push_back(std::make_unique<HttpTestClient>(server.port(), 5s));
  }
  for (int round = 0; round < 3; ++round) {
    auto r = http_get(server.port(), "/metrics");
    EXPECT_EQ(r.status, 200u) << round;
    EXPECT_NE(r.body.find("connection_pool_size"), std::string::npos);
    EXPECT_EQ(http_get(server.port(), "/readyz").status, 200u) << round;
    HttpTestClient keep_alive(server.port());
    EXPECT_EQ(keep_alive.get("/metrics").status, 200u) << round;
    EXPECT_EQ(keep_alive.get("/readyz").status, 200u) << round;
  }
  // The room came from the oldest idle sockets.
  EXPECT_TRUE(idle.front()->closed_by_server());
}

// The same with slow requests (slowloris) instead of silent sockets: a request that has not
// finished arriving may be closed to make room too.
TEST_F(AdminServerTest, SlowRequestsAtTheCapDoNotLockOutScrapes) {
  AdminServerOptions options;
  options.header_timeout = 60s;
  options.max_connections = 16;
  auto server = start(options);
  std::vector<std::unique_ptr<HttpTestClient>> slow;
  for (std::size_t i = 0; i < options.max_connections; ++i) {
    slow.push_back(std::make_unique<HttpTestClient>(server.port(), 5s));
    slow.back()->send_raw("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a");
  }
  EXPECT_EQ(http_get(server.port(), "/metrics").status, 200u);
  EXPECT_EQ(http_get(server.port(), "/readyz").status, 200u);
}

TEST_F(AdminServerTest, SlowRequestGets408) {
  AdminServerOptions options;
  options.header_timeout = 300ms;
  auto server = start(options);
  HttpTestClient slow(server.port());
  slow.send_raw("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // never finished
  auto r = slow.read_response();  // the client's read timeout is 10 s
  ASSERT_TRUE(r) << "the server closed without the 408";
  EXPECT_EQ(r->status, 408u);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "request_timeout");
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
}

TEST_F(AdminServerTest, RebindingHostGets421) {
  AdminServerOptions options;
  options.allowed_hosts = {"admin.example.internal"};
  auto server = start(options);
  for (const char* path : {"/metrics", "/readyz", "/healthz", "/api/v1/admin/connection-pools"}) {
    HttpTestClient client(server.port());
    client.send_raw(std::string("GET ") + path +
                    " HTTP/1.1\r\nHost: attacker.example:9464\r\n\r\n");
    auto r = client.read_response();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 421u) << path;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "misdirected_request");
    for (const char* host :
         {"admin.example.internal:9464", "localhost:9464", "[::1]:9464", "192.168.1.20:9464"}) {
      client.send_raw(std::string("GET ") + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      r = client.read_response();
      ASSERT_TRUE(r) << path << " " << host;
      EXPECT_EQ(r->status, 200u) << path << " " << host;
    }
  }
}

TEST_F(AdminServerTest, ProtectAllRequiresTheTokenOnMetricsAndReadyz) {
  AdminServerOptions options;
  options.bearer_token = "tok-123";
  options.protect_all = true;
  auto server = start(options);
  const auto port = server.port();
  for (const char* path : {"/metrics", "/readyz", "/api/v1/admin/connection-pools"}) {
    EXPECT_EQ(http_get(port, path).status, 401u) << path;
    EXPECT_EQ(http_get(port, path, "Bearer wrong").status, 401u) << path;
    EXPECT_EQ(http_get(port, path, "Bearer tok-123").status, 200u) << path;
  }
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);

  options.bearer_token.clear();
  auto refused = AdminServer::start_on_own_thread(options, pools, metrics);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), errc::invalid_argument);
}

TEST_F(AdminServerTest, StopClosesOpenConnections) {
  auto server = start();
  HttpTestClient client(server.port());
  ASSERT_EQ(client.get("/healthz").status, 200u);
  const auto port = server.port();
  server.stop();
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_THROW(HttpTestClient again(port), std::exception);
  server.stop();  // idempotent
}

TEST_F(AdminServerTest, PortInUseIsAnIoError) {
  auto first = start();
  AdminServerOptions options;
  options.port = first.port();
  auto second = AdminServer::start_on_own_thread(options, pools, metrics);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), errc::io_error);
  EXPECT_NE(second.error().message().find(std::to_string(first.port())), std::string::npos);
}

TEST_F(AdminServerTest, BadOptionsAreInvalidArgument) {
  AdminServerOptions options;
  options.bind_address = "not-an-ip";
  auto r = AdminServer::start_on_own_thread(options, pools, metrics);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  options = {};
  options.header_timeout = 0ms;
  EXPECT_EQ(AdminServer::start_on_own_thread(options, pools, metrics).error().code(),
            errc::invalid_argument);
}

TEST_F(AdminServerTest, RunsOnTheCallersIoContext) {
  boost::asio::io_context io;
  auto server = AdminServer::start(io.get_executor(), {}, pools, metrics);
  ASSERT_TRUE(server);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(http_get(server->port(), i % 2 ? "/metrics" : "/readyz").status, 200u);
  }
  server->stop();
  // With the acceptor and every connection closed, the io_context runs out of work.
  for (auto& t : threads) t.join();
}

TEST_F(AdminServerTest, MovedServerKeepsServing) {
  auto server = start();
  AdminServer moved = std::move(server);
  EXPECT_EQ(http_get(moved.port(), "/healthz").status, 200u);
}

}  // namespace
}  // namespace connpool::monitor
