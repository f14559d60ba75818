// GET /metrics output passes `promtool check metrics` (the Prometheus project's own linter).
#include "support/promtool.hpp"

#include "connpool/core/pool.hpp"
#include "connpool/monitor/metrics_registry.hpp"

#include "http_test_client.hpp"
#include "monitor_fixture.hpp"
#include "support/monitor_fake_connector.hpp"
#include "support/pool_driver.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace connpool::monitor {
namespace {

TEST(Promtool, MetricsOutputPassesPromtoolCheckMetrics) {
  ASSERT_TRUE(connpool::test::have_program("promtool"))
      << "promtool is missing: " << connpool::test::kInstallPrometheus;

  connpool::test::MonitorFixture f;
  // Every kind of series present: errors of several types, failed health checks, leaks,
  // observations in the +Inf bucket, and a pool name that needs escaping.
  f.cache_observer->on_error(Error(errc::acquire_timeout, "x"));
  f.cache_observer->on_health_check(false, std::chrono::seconds(2));
  f.cache_observer->on_leak_detected(std::chrono::minutes(2), std::source_location::current());
  f.cache_observer->on_released(std::chrono::minutes(3));
  f.cache_observer->on_acquire_timeout(std::chrono::milliseconds(250));
  auto odd = connpool::test::fake_source("odd\"name\\x", "redis", f.docs_stats);
  ASSERT_TRUE(f.pools->add(odd));
  f.metrics->make_observer("odd\"name\\x", "redis")->on_created(std::chrono::milliseconds(1));

  auto server = f.start();
  const auto res = connpool::test::http_get(server.port(), "/metrics");
  ASSERT_EQ(res.status, 200u);
  ASSERT_FALSE(res.body.empty());

  const auto check = connpool::test::promtool_check_metrics(res.body);
  EXPECT_EQ(check.status, 0) << check.output << "\n--- metrics ---\n" << res.body;
  // promtool prints one line per lint problem; none are expected.
  EXPECT_EQ(check.output, "") << res.body;
}

// A real pool that has done nothing but connect: its error and health-check counters already
// exist, at 0, in a real scrape, so "No data" never stands for "no errors".
TEST(Promtool, AHealthyPoolExportsZeroErrorAndHealthCheckSeries) {
  using namespace std::chrono_literals;
  using TestPool = core::Pool<connpool::test::MonitorFakeConnector>;
  boost::asio::io_context io;
  auto pools = std::make_shared<PoolRegistry>();
  auto metrics = std::make_shared<MetricsRegistry>(pools);
  core::PoolConfig config;
  config.min_size = 1;
  config.max_size = 2;
  core::PoolOptions options;
  options.name = "fresh";
  options.backend = "redis";
  options.observer = metrics->make_observer(options.name, options.backend);
  options.logger = [](core::LogLevel, std::string_view) {};
  auto pool = TestPool::create(
      io.get_executor(),
      connpool::test::MonitorFakeConnector(std::make_shared<connpool::test::MonitorFakeScript>()),
      config, options);
  ASSERT_TRUE(pool) << pool.error().to_string();
  ASSERT_TRUE(pools->add(*pool, "test"));
  ASSERT_TRUE(connpool::test::run_until(io, [&] { return pool->stats().total >= 1; }));

  auto server = AdminServer::start_on_own_thread({}, pools, metrics);
  ASSERT_TRUE(server) << server.error().to_string();
  const auto res = connpool::test::http_get(server->port(), "/metrics");
  ASSERT_EQ(res.status, 200u);
  const std::string labels = "{pool=\"fresh\",backend=\"redis\",";
  for (const errc type : kPoolErrorTypes) {
    const std::string line = "connection_pool_errors_total" + labels + "type=\"" +
                             std::string(to_string(type)) + "\"} 0\n";
    EXPECT_NE(res.body.find(line), std::string::npos) << "missing: " << line << res.body;
  }
  for (const char* result : {"ok", "failed"}) {
    const std::string line =
        "connection_pool_health_checks_total" + labels + "result=\"" + result + "\"} 0\n";
    EXPECT_NE(res.body.find(line), std::string::npos) << "missing: " << line << res.body;
  }
  EXPECT_NE(res.body.find("connection_pool_size" + labels + "state=\"total\"} 1\n"),
            std::string::npos)
      << res.body;

  if (connpool::test::have_program("promtool")) {
    const auto check = connpool::test::promtool_check_metrics(res.body);
    EXPECT_EQ(check.status, 0) << check.output;
    EXPECT_EQ(check.output, "") << res.body;
  }
  server->stop();
  pool->close_now();  // while the io_context exists (Pool's rule)
  io.restart();
  io.poll();
}

}  // namespace
}  // namespace connpool::monitor
