// A real redis-server killed with SIGKILL under a pool that sits idle (issue 15 item 5): the pool
// hears of the dead connections from the connector at once, so its stats, the error metric and
// /readyz show the outage within a second, not a health-check interval later; and once the
// server is back on the same port, the pool (default backoff settings, so the min_size cap of
// 1 s applies) is ready again within about a second.
#include "connpool/monitor/admin_server.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"
#include "connpool/redis/client.hpp"

#include "http_test_client.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"
#include "support/sanitizer_factor.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Polls `pred` every 10 ms until it holds or `limit` has passed since `from`.
template <class Pred>
bool holds_by(steady_clock::time_point from, milliseconds limit, Pred pred) {
  while (steady_clock::now() < from + limit) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// The value of connection_pool_errors_total for pool "cache" and one error type (0 if absent).
double errors_metric(const std::string& scrape, const std::string& type) {
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("connection_pool_errors_total{", 0) != 0) continue;
    if (line.find("pool=\"cache\"") == std::string::npos) continue;
    if (line.find("type=\"" + type + "\"") == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return 0.0;
}

TEST(DeadServer, SigkilledRedisIsSeenWithinASecondAndItsReturnWithinAboutOne) {
  std::string err;
  auto server = RedisServer::start({}, &err);
  ASSERT_TRUE(server) << err;

  auto pools = std::make_shared<monitor::PoolRegistry>();
  auto metrics = std::make_shared<monitor::MetricsRegistry>(pools);
  IoThreads io(2);
  core::PoolOptions options;
  options.name = "cache";
  options.backend = "redis";
  options.observer = metrics->make_observer("cache", "redis");
  options.logger = [](core::LogLevel, std::string_view) {};
  // Default policy apart from the size: health checks every 30 s, backoff 100 ms .. 10 s.
  auto client = redis::Client::create(io.executor(), server->url("min_size=3&max_size=4"),
                                      std::move(options));
  ASSERT_TRUE(client) << client.error().to_string();
  ASSERT_TRUE(pools->add(monitor::make_pool_source(client->pool())));
  auto admin = monitor::AdminServer::start_on_own_thread({}, pools, metrics);
  ASSERT_TRUE(admin) << admin.error().to_string();
  const auto readyz = [&] { return http_get(admin->port(), "/readyz").status; };

  ASSERT_TRUE(holds_by(steady_clock::now(), scaled(5000ms),
                       [&] { return client->pool().stats().idle == 3 && readyz() == 200; }));
  EXPECT_EQ(client->pool().stats().error_count(errc::io_error), 0u);

  server->kill_hard();
  const auto killed_at = steady_clock::now();
  EXPECT_TRUE(holds_by(killed_at, scaled(1000ms),
                       [&] {
                         const auto s = client->pool().stats();
                         return s.idle == 0 && s.total == 0 && s.error_count(errc::io_error) >= 3;
                       }))
      << "stats 1 s after SIGKILL: idle=" << client->pool().stats().idle
      << " io_errors=" << client->pool().stats().error_count(errc::io_error);
  const auto stats_seen_after = steady_clock::now() - killed_at;
  EXPECT_TRUE(holds_by(killed_at, scaled(1000ms), [&] { return readyz() == 503; }))
      << "/readyz still " << readyz() << " 1 s after SIGKILL";
  const auto readyz_seen_after = steady_clock::now() - killed_at;
  EXPECT_GE(errors_metric(http_get(admin->port(), "/metrics").body, "io_error"), 3.0);
  EXPECT_GE(client->pool().stats().connect_failures, 1u) << "no reconnect attempt was made";

  // Let the backoff grow past the cap (uncapped it would reach 1.6 s after 5 failures).
  std::this_thread::sleep_for(2500ms);
  ASSERT_TRUE(server->restart(&err)) << err;
  const auto back_at = steady_clock::now();
  // 1 s of capped backoff plus a connect: 1.5 s, stretched under sanitizers.
  EXPECT_TRUE(holds_by(back_at, scaled(1500ms), [&] { return readyz() == 200; }))
      << "not ready 1.5 s after the server came back: " << http_get(admin->port(), "/readyz").body;
  const auto ready_after =
      std::chrono::duration_cast<milliseconds>(steady_clock::now() - back_at).count();
  const auto ms = [](auto d) {
    return static_cast<int>(std::chrono::duration_cast<milliseconds>(d).count());
  };
  std::printf(
      "dead server: stats after %d ms, /readyz 503 after %d ms; ready %d ms after restart\n",
      ms(stats_seen_after), ms(readyz_seen_after), static_cast<int>(ready_after));
  EXPECT_TRUE(client->wait(client->ping()));
  admin->stop();
}

}  // namespace
}  // namespace connpool::test
