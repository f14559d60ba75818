// The Prometheus observer attached to a real Pool (tiny fake connector, manual clock): metric
// values follow the pool's scripted events exactly and agree with the pool's own stats().
#include "connpool/core/clock.hpp"
#include "connpool/core/pool.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include "metric_lookup.hpp"
#include "support/monitor_fake_connector.hpp"
#include "support/pool_driver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace connpool::monitor {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using connpool::test::find_series;
using connpool::test::MonitorFakeConnector;
using connpool::test::MonitorFakeScript;
using TestPool = core::Pool<MonitorFakeConnector>;
using TestLease = TestPool::lease_type;
using Labels = std::map<std::string, std::string>;

using connpool::test::run_until;

class PoolObserverTest : public ::testing::Test {
 protected:
  PoolObserverTest() {
    config.min_size = 0;
    config.max_size = 2;
    config.acquire_timeout = 1000ms;
    config.max_idle_time = 0ms;
    config.max_lifetime = 0ms;
    config.health_check_interval = 0ms;
    config.validate_after_idle = 1h;
    config.reconnect_backoff_initial = 0ms;
    config.reconnect_backoff_jitter = 0.0;
  }

  TestPool make_pool() {
    core::PoolOptions options;
    options.name = "orders";
    options.backend = "redis";
    options.target = "redis://:***@127.0.0.1:6379/0";
    options.clock = clock;
    options.observer = metrics->make_observer(options.name, options.backend);
    options.seed = 7;
    options.logger = [](core::LogLevel, std::string_view) {};
    auto pool = TestPool::create(io.get_executor(), MonitorFakeConnector(script), config, options);
    if (!pool) ADD_FAILURE() << pool.error().to_string();
    return std::move(*pool);
  }

  using Slot = std::shared_ptr<std::optional<Result<TestLease>>>;

  /// Starts an acquire; the slot fills when it completes.
  Slot spawn_acquire(TestPool& pool, std::optional<std::chrono::milliseconds> timeout = {}) {
    return connpool::test::spawn_acquire(io, pool, timeout);
  }

  Result<TestLease> finish(const Slot& slot) {
    EXPECT_TRUE(run_until(io, [&] { return slot->has_value(); }));
    if (!slot->has_value()) return Error(errc::unknown, "acquire never completed");
    return std::move(**slot);
  }

  Result<TestLease> acquire(TestPool& pool, std::optional<std::chrono::milliseconds> timeout = {}) {
    return finish(spawn_acquire(pool, timeout));
  }

  double counter(std::string_view name, Labels extra = {}) {
    Labels labels = {{"pool", "orders"}, {"backend", "redis"}};
    labels.insert(extra.begin(), extra.end());
    const auto families = metrics->collect();  // the series points into it
    const auto* m = find_series(families, name, labels);
    EXPECT_NE(m, nullptr) << name;
    return m ? m->counter.value : -1.0;
  }
  double gauge(std::string_view name, Labels extra = {}) {
    Labels labels = {{"pool", "orders"}, {"backend", "redis"}};
    labels.insert(extra.begin(), extra.end());
    const auto families = metrics->collect();  // the series points into it
    const auto* m = find_series(families, name, labels);
    EXPECT_NE(m, nullptr) << name;
    return m ? m->gauge.value : -1.0;
  }
  prometheus::ClientMetric::Histogram histogram(std::string_view name) {
    const auto families = metrics->collect();
    const auto* m = find_series(families, name, {{"pool", "orders"}, {"backend", "redis"}});
    EXPECT_NE(m, nullptr) << name;
    return m ? m->histogram : prometheus::ClientMetric::Histogram{};
  }

  asio::io_context io;
  std::shared_ptr<core::ManualClock> clock = std::make_shared<core::ManualClock>();
  std::shared_ptr<MonitorFakeScript> script = std::make_shared<MonitorFakeScript>();
  std::shared_ptr<PoolRegistry> pools = std::make_shared<PoolRegistry>();
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>(pools);
  core::PoolConfig config;
};

TEST_F(PoolObserverTest, MetricsFollowAScriptedPoolSession) {
  auto pool = make_pool();
  ASSERT_TRUE(pools->add(pool, "test"));

  // 1. First acquire opens a connection; hold it 5 ms (manual clock), release.
  auto a = acquire(pool);
  ASSERT_TRUE(a);
  EXPECT_EQ(gauge("connection_pool_size", {{"state", "active"}}), 1.0);
  EXPECT_EQ(gauge("connection_pool_utilization"), 0.5);
  clock->advance(5ms);
  a->release();
  EXPECT_EQ(gauge("connection_pool_size", {{"state", "idle"}}), 1.0);
  EXPECT_EQ(gauge("connection_pool_size", {{"state", "active"}}), 0.0);

  // 2. Two leases: the idle connection is reused, a second one is opened.
  auto b = acquire(pool);
  auto c = acquire(pool);
  ASSERT_TRUE(b);
  ASSERT_TRUE(c);
  EXPECT_EQ(gauge("connection_pool_size", {{"state", "total"}}), 2.0);
  EXPECT_EQ(gauge("connection_pool_utilization"), 1.0);

  // 3. A third acquire waits; nothing comes back within its 10 ms, so it times out.
  auto waiting = spawn_acquire(pool, 10ms);
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().waiting == 1; }));
  EXPECT_EQ(gauge("connection_pool_waiting"), 1.0);
  clock->advance(10ms);
  pool.run_maintenance();
  auto d = finish(waiting);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), errc::acquire_timeout);
  EXPECT_EQ(gauge("connection_pool_waiting"), 0.0);

  // 4. Hold both 20 ms in all; one is discarded as broken, the other returned.
  clock->advance(10ms);
  b->discard();
  c->release();

  EXPECT_EQ(counter("connection_pool_connections_created_total"), 2.0);
  EXPECT_EQ(counter("connection_pool_timeouts_total"), 1.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", {{"reason", "broken"}}), 1.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", {{"reason", "idle"}}), 0.0);
  EXPECT_EQ(counter("connection_pool_errors_total", {{"type", "acquire_timeout"}}), 1.0);

  const auto wait = histogram("connection_pool_wait_seconds");
  EXPECT_EQ(wait.sample_count, 3u);  // three successful acquires
  EXPECT_EQ(wait.sample_sum, 0.0);   // the manual clock did not move while acquiring
  const auto usage = histogram("connection_usage_seconds");
  EXPECT_EQ(usage.sample_count, 3u);
  EXPECT_NEAR(usage.sample_sum, 0.005 + 0.020 + 0.020, 1e-12);
  EXPECT_EQ(usage.bucket[5].upper_bound, 0.005);
  EXPECT_EQ(usage.bucket[5].cumulative_count, 1u);  // the 5 ms hold
  EXPECT_EQ(usage.bucket[7].upper_bound, 0.025);
  EXPECT_EQ(usage.bucket[7].cumulative_count, 3u);  // + the two 20 ms holds
  EXPECT_EQ(histogram("connection_pool_connect_seconds").sample_count, 2u);

  // The observer's counters agree with the pool's own bookkeeping.
  const auto s = pool.stats();
  EXPECT_EQ(wait.sample_count, s.acquires);
  EXPECT_EQ(counter("connection_pool_timeouts_total"), static_cast<double>(s.acquire_timeouts));
  EXPECT_EQ(counter("connection_pool_connections_created_total"), static_cast<double>(s.created));
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 1u);
  EXPECT_EQ(gauge("connection_pool_size", {{"state", "total"}}), static_cast<double>(s.total));
  EXPECT_EQ(gauge("connection_pool_max_size"), 2.0);
  EXPECT_EQ(gauge("connection_pool_min_size"), 0.0);

  // 5. Closing the pool closes the idle connection with reason "closed".
  pool.close_now();
  run_until(io, [&] { return pool.stats().total == 0; });
  EXPECT_EQ(counter("connection_pool_connections_closed_total", {{"reason", "closed"}}), 1.0);
  pools->remove("orders");
}

// An acquire whose timeout is already over when it finds nothing free (acquire(0ms)) fails
// without queueing; it must reach connection_pool_timeouts_total like one that waited.
TEST_F(PoolObserverTest, ImmediateAcquireTimeoutIsCountedToo) {
  config.max_size = 1;
  auto pool = make_pool();
  auto held = acquire(pool);
  ASSERT_TRUE(held);
  auto d = acquire(pool, 0ms);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), errc::acquire_timeout);
  EXPECT_EQ(pool.stats().acquire_timeouts, 1u);
  EXPECT_EQ(counter("connection_pool_errors_total", {{"type", "acquire_timeout"}}), 1.0);
  EXPECT_EQ(counter("connection_pool_timeouts_total"), 1.0)
      << "the pool counted the timeout in stats() but did not call on_acquire_timeout()";
}

TEST_F(PoolObserverTest, HealthChecksAndConnectErrorsAreCounted) {
  config.min_size = 1;
  config.health_check_interval = 1000ms;
  auto pool = make_pool();
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().idle == 1; }));
  EXPECT_EQ(counter("connection_pool_connections_created_total"), 1.0);

  clock->advance(1500ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().health_checks_ok == 1; }));
  EXPECT_EQ(counter("connection_pool_health_checks_total", {{"result", "ok"}}), 1.0);
  EXPECT_EQ(counter("connection_pool_health_checks_total", {{"result", "failed"}}), 0.0);

  // A failing check closes the connection; the refill then fails to connect.
  script->fail_validate = true;
  script->fail_connect = true;
  clock->advance(1500ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().health_checks_failed == 1; }));
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().error_count(errc::connect_failed) >= 1; }));
  EXPECT_EQ(counter("connection_pool_health_checks_total", {{"result", "failed"}}), 1.0);
  EXPECT_EQ(counter("connection_pool_connections_closed_total", {{"reason", "health_check"}}), 1.0);
  const auto s = pool.stats();
  EXPECT_EQ(counter("connection_pool_errors_total", {{"type", "connect_failed"}}),
            static_cast<double>(s.error_count(errc::connect_failed)));
  EXPECT_EQ(counter("connection_pool_errors_total", {{"type", "validation_failed"}}),
            static_cast<double>(s.error_count(errc::validation_failed)));
  pool.close_now();
}

}  // namespace
}  // namespace connpool::monitor
