// GET /metrics output passes `promtool check metrics` (the Prometheus project's own linter).
#include "support/promtool.hpp"

#include "http_test_client.hpp"
#include "monitor_fixture.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace connpool::monitor
