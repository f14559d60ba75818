// Metric values follow a scripted sequence of observer events exactly.
#include "connpool/monitor/prometheus_observer.hpp"

#include "connpool/monitor/metrics_registry.hpp"

#include "metric_lookup.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <source_location>

namespace connpool::monitor {
namespace {

using namespace std::chrono_literals;
using connpool::test::find_family;
using connpool::test::find_series;
using Labels = std::map<std::string, std::string>;

const Labels kBase = {{"pool", "orders"}, {"backend", "redis"}};

Labels with(std::string name, std::string value) {
  auto l = kBase;
  l[std::move(name)] = std::move(value);
  return l;
}

// The script: what a pool with some trouble reports over its first seconds.
void play_script(PrometheusObserver& o) {
  o.on_created(2ms);
  o.on_created(2ms);
  o.on_created(30ms);
  o.on_acquired(0ns);
  o.on_acquired(0ns);
  o.on_acquired(0ns);
  o.on_acquired(4ms);
  o.on_released(7ms);
  o.on_released(200ms);
  o.on_acquire_timeout(250ms);
  o.on_error(Error(errc::acquire_timeout, "acquire timed out after 250ms"));
  o.on_error(Error(errc::connect_failed, "connection refused"));
  o.on_error(Error(errc::connect_failed, "connection refused"));
  o.on_destroyed(core::CloseReason::idle);
  o.on_destroyed(core::CloseReason::broken);
  o.on_destroyed(core::CloseReason::broken);
  for (int i = 0; i < 5; ++i) o.on_health_check(true, 1ms);
  o.on_health_check(false, 2s);
  o.on_leak_detected(90s, std::source_location::current());
}

TEST(PrometheusObserver, CountersFollowTheScript) {
  PrometheusObserver o("orders", "redis");
  play_script(o);
  const auto c = o.counters();
  EXPECT_EQ(c.acquires, 4u);
  EXPECT_EQ(c.releases, 2u);
  EXPECT_EQ(c.timeouts, 1u);
  EXPECT_EQ(c.created, 3u);
  EXPECT_EQ(c.closed[static_cast<std::size_t>(core::CloseReason::idle)], 1u);
  EXPECT_EQ(c.closed[static_cast<std::size_t>(core::CloseReason::broken)], 2u);
  EXPECT_EQ(c.closed[static_cast<std::size_t>(core::CloseReason::lifetime)], 0u);
  EXPECT_EQ(c.errors[static_cast<std::size_t>(errc::acquire_timeout)], 1u);
  EXPECT_EQ(c.errors[static_cast<std::size_t>(errc::connect_failed)], 2u);
  EXPECT_EQ(c.health_checks_ok, 5u);
  EXPECT_EQ(c.health_checks_failed, 1u);
  EXPECT_EQ(c.leaks, 1u);
}

TEST(PrometheusObserver, ExportedSeriesFollowTheScript) {
  MetricsRegistry registry;
  auto o = registry.make_observer("orders", "redis");
  play_script(*o);
  const auto f = registry.collect();

  auto counter = [&](std::string_view name, const Labels& labels) {
    const auto* m = find_series(f, name, labels);
    EXPECT_NE(m, nullptr) << name;
    return m ? m->counter.value : -1.0;
  };
  EXPECT_EQ(counter("connection_pool_connections_created_total", kBase), 3.0);
  EXPECT_EQ(counter("connection_pool_timeouts_total", kBase), 1.0);
  EXPECT_EQ(counter("connection_pool_leaks_detected_total", kBase), 1.0);
  EXPECT_EQ(counter("connection_pool_errors_total", with("type", "acquire_timeout")), 1.0);
  EXPECT_EQ(counter("connection_pool_errors_total", with("type", "connect_failed")), 2.0);
  EXPECT_EQ(find_family(f, "connection_pool_errors_total")->metric.size(), kPoolErrorTypes.size())
      << "the pool's error types, and no other type until it is seen";
  EXPECT_EQ(counter("connection_pool_errors_total", with("type", "io_error")), 0.0);
  EXPECT_EQ(counter("connection_pool_health_checks_total", with("result", "ok")), 5.0);
  EXPECT_EQ(counter("connection_pool_health_checks_total", with("result", "failed")), 1.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", with("reason", "idle")), 1.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", with("reason", "broken")), 2.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", with("reason", "lifetime")), 0.0);
  EXPECT_EQ(find_family(f, "connection_pool_connections_closed_total")->metric.size(),
            core::kCloseReasonCount)
      << "every close reason is exported from the start";

  // Wait: three 0s and one 4ms.
  const auto* wait = find_series(f, "connection_pool_wait_seconds", kBase);
  ASSERT_NE(wait, nullptr);
  EXPECT_EQ(wait->histogram.sample_count, 4u);
  EXPECT_NEAR(wait->histogram.sample_sum, 0.004, 1e-12);
  ASSERT_EQ(wait->histogram.bucket.size(), kLatencyBucketsSeconds.size() + 1);
  EXPECT_EQ(wait->histogram.bucket[0].upper_bound, 0.0001);
  EXPECT_EQ(wait->histogram.bucket[0].cumulative_count, 3u);
  EXPECT_EQ(wait->histogram.bucket[4].upper_bound, 0.0025);
  EXPECT_EQ(wait->histogram.bucket[4].cumulative_count, 3u);
  EXPECT_EQ(wait->histogram.bucket[5].upper_bound, 0.005);
  EXPECT_EQ(wait->histogram.bucket[5].cumulative_count, 4u);
  EXPECT_TRUE(std::isinf(wait->histogram.bucket.back().upper_bound));
  EXPECT_EQ(wait->histogram.bucket.back().cumulative_count, 4u);

  // Usage: 7ms and 200ms.
  const auto* usage = find_series(f, "connection_usage_seconds", kBase);
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->histogram.sample_count, 2u);
  EXPECT_NEAR(usage->histogram.sample_sum, 0.207, 1e-12);
  EXPECT_EQ(usage->histogram.bucket[6].upper_bound, 0.01);
  EXPECT_EQ(usage->histogram.bucket[6].cumulative_count, 1u);
  EXPECT_EQ(usage->histogram.bucket[10].upper_bound, 0.25);
  EXPECT_EQ(usage->histogram.bucket[10].cumulative_count, 2u);

  // Connect: 2ms, 2ms, 30ms.
  const auto* connect = find_series(f, "connection_pool_connect_seconds", kBase);
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->histogram.sample_count, 3u);
  EXPECT_NEAR(connect->histogram.sample_sum, 0.034, 1e-12);
  EXPECT_EQ(connect->histogram.bucket[4].cumulative_count, 2u);  // le=0.0025
  EXPECT_EQ(connect->histogram.bucket[7].cumulative_count, 2u);  // le=0.025
  EXPECT_EQ(connect->histogram.bucket[8].cumulative_count, 3u);  // le=0.05
}

TEST(PrometheusObserver, ErrorAndHealthCheckSeriesExistBeforeTheFirstEvent) {
  MetricsRegistry registry;
  registry.make_observer("orders", "redis");
  auto f = registry.collect();
  const auto* errors = find_family(f, "connection_pool_errors_total");
  ASSERT_NE(errors, nullptr) << "a fresh pool must already export its error counters";
  ASSERT_EQ(errors->metric.size(), kPoolErrorTypes.size());
  for (const errc type : kPoolErrorTypes) {
    const auto* m =
        find_series(f, "connection_pool_errors_total", with("type", std::string(to_string(type))));
    ASSERT_NE(m, nullptr) << to_string(type);
    EXPECT_EQ(m->counter.value, 0.0) << to_string(type);
  }
  for (const char* result : {"ok", "failed"}) {
    const auto* m = find_series(f, "connection_pool_health_checks_total", with("result", result));
    ASSERT_NE(m, nullptr) << result;
    EXPECT_EQ(m->counter.value, 0.0);
  }

  // A type outside the list appears once it happens, and stays.
  registry.make_observer("orders", "redis")->on_error(Error(errc::not_found, "gone"));
  f = registry.collect();
  EXPECT_EQ(find_family(f, "connection_pool_errors_total")->metric.size(),
            kPoolErrorTypes.size() + 1);
  const auto* nf = find_series(f, "connection_pool_errors_total", with("type", "not_found"));
  ASSERT_NE(nf, nullptr);
  EXPECT_EQ(nf->counter.value, 1.0);
}

TEST(PrometheusObserver, TextExpositionShowsTheScriptedValues) {
  MetricsRegistry registry;
  play_script(*registry.make_observer("orders", "redis"));
  const auto text = registry.scrape();
  for (const char* line : {
           "# TYPE connection_pool_wait_seconds histogram",
           "connection_pool_wait_seconds_count{pool=\"orders\",backend=\"redis\"} 4",
           "connection_pool_wait_seconds_bucket{pool=\"orders\",backend=\"redis\",le=\"0.0001\"} 3",
           "connection_pool_wait_seconds_bucket{pool=\"orders\",backend=\"redis\",le=\"+Inf\"} 4",
           "connection_pool_connections_created_total{pool=\"orders\",backend=\"redis\"} 3",
           "connection_pool_errors_total{pool=\"orders\",backend=\"redis\",type=\"connect_failed\"}"
           " 2",
           "connection_pool_health_checks_total{pool=\"orders\",backend=\"redis\",result="
           "\"failed\"} 1",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  }
}

TEST(PrometheusObserver, OutOfRangeEnumsAreNotWrittenPastTheArrays) {
  PrometheusObserver o("p", "generic");
  o.on_destroyed(static_cast<core::CloseReason>(200));
  o.on_error(Error(static_cast<errc>(999), "?"));
  const auto c = o.counters();
  EXPECT_EQ(c.errors[static_cast<std::size_t>(errc::unknown)], 1u);
  std::uint64_t closed = 0;
  for (auto n : c.closed) closed += n;
  EXPECT_EQ(closed, 0u);
}

}  // namespace
}  // namespace connpool::monitor
