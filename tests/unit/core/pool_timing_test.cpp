// Time-driven policy, tested on a ManualClock: acquire deadlines, idle eviction, lifetimes,
// health checks, backoff, leak detection, borrow validation, connect/validation timeouts.
#include "pool_fixture.hpp"

namespace connpool::testing {
namespace {

TEST_F(PoolTest, AcquireTimeoutExplainsItself) {
  auto config = quiet_config();
  config.max_size = 2;
  auto pool = make_pool(config);
  auto a = acquire_now(pool);
  auto b = acquire_now(pool);
  auto waiter = spawn_acquire(pool);
  drain(ioc);
  EXPECT_EQ(pool.stats().waiting, 1u);
  clock->advance(249ms);
  pool.run_maintenance();
  drain(ioc);
  EXPECT_FALSE(waiter->has_value());
  clock->advance(1ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
  const Error& e = (*waiter)->error();
  EXPECT_EQ(e.code(), errc::acquire_timeout);
  EXPECT_EQ(e.message(),
            "acquire timed out after 250ms (total=2 in_use=2 idle=0 waiting=1) in pool 'test'");
  auto s = pool.stats();
  EXPECT_EQ(s.acquire_timeouts, 1u);
  EXPECT_EQ(s.error_count(errc::acquire_timeout), 1u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(observer->timeouts, 1);
  expect_invariants(pool);
}

TEST_F(PoolTest, AcquireTimeoutCarriesTheLastConnectError) {
  script->set_default_connect(Step::fail);
  auto config = quiet_config();
  config.reconnect_backoff_initial = 50ms;
  auto pool = make_pool(config);
  auto waiter = spawn_acquire(pool);
  drain(ioc);
  ASSERT_TRUE(
      run_until(ioc, [&] { return script->connect_calls >= 1 && pool.stats().connecting == 0; }));
  clock->advance(250ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
  const Error& e = (*waiter)->error();
  EXPECT_EQ(e.code(), errc::acquire_timeout);
  EXPECT_NE(e.message().find("(total=0 in_use=0 idle=0 waiting=1"), std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("; last connect error: connection refused"), std::string::npos)
      << e.message();
  EXPECT_GE(pool.stats().error_count(errc::connect_failed), 1u);
}

TEST_F(PoolTest, PerCallTimeoutOverridesConfig) {
  auto config = quiet_config();
  config.max_size = 1;
  config.acquire_timeout = 10s;
  auto pool = make_pool(config);
  auto holder = acquire_now(pool);
  auto quick = spawn_acquire(pool, 20ms);
  auto slow = spawn_acquire(pool);
  drain(ioc);
  clock->advance(20ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return quick->has_value(); }));
  EXPECT_EQ((*quick)->error().code(), errc::acquire_timeout);
  EXPECT_FALSE(slow->has_value());
  holder.release();
  ASSERT_TRUE(run_until(ioc, [&] { return slow->has_value(); }));
  EXPECT_TRUE(**slow);
}

TEST_F(PoolTest, ZeroAcquireTimeoutFailsAtOnce) {
  auto config = quiet_config();
  config.min_size = 1;
  config.max_size = 1;
  config.acquire_timeout = 0ms;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  auto holder = acquire_now(pool);  // a free connection needs no waiting
  auto waiter = spawn_acquire(pool);
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
  EXPECT_EQ((*waiter)->error().code(), errc::acquire_timeout);
}

TEST_F(PoolTest, IdleEvictionStopsAtMinSize) {
  auto config = quiet_config();
  config.min_size = 1;
  config.max_idle_time = 10s;
  auto pool = make_pool(config);
  {
    std::vector<TestLease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(acquire_now(pool));
  }
  EXPECT_EQ(pool.stats().idle, 4u);
  clock->advance(9s);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().total, 4u);
  clock->advance(1s);
  pool.run_maintenance();
  auto s = pool.stats();
  EXPECT_EQ(s.total, 1u);
  EXPECT_EQ(s.closed_count(core::CloseReason::idle), 3u);
  clock->advance(1h);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().total, 1u);  // never below min_size
  expect_invariants(pool);
}

TEST_F(PoolTest, LifetimeIsJitteredAndNeverCutsALease) {
  auto config = quiet_config();
  config.max_lifetime = 1000ms;
  config.max_lifetime_jitter = 0.2;
  auto pool = make_pool(config);
  std::vector<TestLease> leases;
  for (int i = 0; i < 4; ++i) leases.push_back(acquire_now(pool));
  leases.pop_back();
  leases.pop_back();  // two idle, two leased
  clock->advance(799ms);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().total, 4u);  // jitter only shortens by up to 20%
  clock->advance(201ms);
  pool.run_maintenance();
  auto s = pool.stats();
  EXPECT_EQ(s.total, 2u);  // the idle two retired; the leased two are untouched
  EXPECT_EQ(s.in_use, 2u);
  EXPECT_EQ(s.closed_count(core::CloseReason::lifetime), 2u);
  leases.clear();  // retired on return
  s = pool.stats();
  EXPECT_EQ(s.total, 0u);
  EXPECT_EQ(s.closed_count(core::CloseReason::lifetime), 4u);
  expect_invariants(pool);
}

TEST_F(PoolTest, LifetimesDifferWithJitter) {
  auto config = quiet_config();
  config.max_size = 20;
  config.max_lifetime = 1000ms;
  config.max_lifetime_jitter = 0.5;
  auto pool = make_pool(config);
  {
    std::vector<TestLease> leases;
    for (int i = 0; i < 20; ++i) leases.push_back(acquire_now(pool));
  }
  clock->advance(750ms);
  pool.run_maintenance();
  const auto left = pool.stats().total;
  EXPECT_GT(left, 0u);   // not all expired together...
  EXPECT_LT(left, 20u);  // ...nor none: lifetimes are spread over [500ms, 1000ms]
}

TEST_F(PoolTest, HealthChecksValidateIdleAndReplaceFailures) {
  auto config = quiet_config();
  config.min_size = 2;
  config.health_check_interval = 30s;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  clock->advance(30s);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().health_checks_ok == 2; }));
  EXPECT_EQ(pool.stats().idle, 2u);

  script->set_default_validate(Step::fail);
  clock->advance(30s);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] {
    auto s = pool.stats();
    return s.health_checks_failed == 2 && s.idle == 2;  // replaced by fresh connections
  }));
  auto s = pool.stats();
  EXPECT_EQ(s.closed_count(core::CloseReason::health_check), 2u);
  EXPECT_EQ(s.created, 4u);
  EXPECT_FALSE(s.last_health_check_ok);
  EXPECT_TRUE(s.last_health_check_at.has_value());
  EXPECT_EQ(observer->checks_failed, 2);
  expect_invariants(pool);
}

TEST_F(PoolTest, HealthChecksNeverTouchLeasedConnections) {
  auto config = quiet_config();
  config.health_check_interval = 1s;
  auto pool = make_pool(config);
  auto lease = acquire_now(pool);
  clock->advance(5s);
  pool.run_maintenance();
  drain(ioc);
  EXPECT_EQ(script->validate_calls, 0);
}

TEST_F(PoolTest, ConnectFailuresBackOffExponentially) {
  script->set_default_connect(Step::fail);
  auto config = quiet_config();
  config.min_size = 1;
  config.reconnect_backoff_initial = 100ms;
  config.reconnect_backoff_max = 400ms;
  config.reconnect_backoff_multiplier = 2.0;
  config.reconnect_backoff_jitter = 0.0;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connect_failures == 1; }));
  // Retries come at +100ms, +200ms, +400ms, +400ms (capped).
  const std::chrono::milliseconds waits[] = {100ms, 200ms, 400ms, 400ms};
  int expected_calls = 1;
  for (auto wait : waits) {
    clock->advance(wait - 1ms);
    pool.run_maintenance();
    drain(ioc);
    EXPECT_EQ(script->connect_calls, expected_calls) << "retried before " << wait.count() << "ms";
    clock->advance(1ms);
    pool.run_maintenance();
    ++expected_calls;
    ASSERT_TRUE(run_until(ioc, [&] {
      return script->connect_calls == expected_calls && pool.stats().connecting == 0;
    }));
  }
  // The backend comes back: the pool restores min_size by itself.
  script->set_default_connect(Step::ok);
  clock->advance(400ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  EXPECT_FALSE(pool.stats().last_connect_error.has_value());
  expect_invariants(pool);
}

TEST_F(PoolTest, LeaksAreReportedOnceWithTheirOrigin) {
  auto config = quiet_config();
  config.leak_detection_threshold = 1s;
  auto pool = make_pool(config);
  auto lease = acquire_now(pool);
  clock->advance(999ms);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().leaks_detected, 0u);
  clock->advance(1ms);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().leaks_detected, 1u);
  clock->advance(10s);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().leaks_detected, 1u);
  EXPECT_EQ(observer->leaks, 1);
  // The file that called acquire(): the shared test driver that spawns acquires.
  std::lock_guard lock(observer->mu);
  EXPECT_NE(observer->last_leak_file.find("pool_driver.hpp"), std::string::npos)
      << observer->last_leak_file;
}

TEST_F(PoolTest, ConnectionIdleTooLongIsValidatedOnBorrow) {
  auto config = quiet_config();
  config.validate_after_idle = 500ms;
  auto pool = make_pool(config);
  { auto lease = acquire_now(pool); }
  { auto lease = acquire_now(pool); }  // used just now: trusted
  EXPECT_EQ(script->validate_calls, 0);
  clock->advance(500ms);
  script->validations.push_back(Step::fail);  // the idle one turns out dead
  auto lease = acquire_now(pool);
  EXPECT_EQ(script->validate_calls, 1);
  EXPECT_EQ(lease->id, 2);  // a fresh connection replaced the dead one
  auto s = pool.stats();
  EXPECT_EQ(s.closed_count(core::CloseReason::health_check), 1u);
  EXPECT_EQ(s.health_checks_failed, 1u);
  expect_invariants(pool);
}

TEST_F(PoolTest, ConnectThatNeverCompletesTimesOut) {
  script->set_default_connect(Step::never);
  auto config = quiet_config();
  config.connect_timeout = 30ms;
  config.reconnect_backoff_initial = 1h;
  config.reconnect_backoff_max = 1h;
  auto pool = make_pool(config);
  auto waiter = spawn_acquire(pool);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connect_failures == 1; }));
  auto s = pool.stats();
  EXPECT_EQ(s.connecting, 0u);
  ASSERT_TRUE(s.last_connect_error.has_value());
  EXPECT_EQ(s.last_connect_error->code(), errc::connect_timeout);
  EXPECT_EQ(s.last_connect_error->message(), "connect timed out after 30ms");
  clock->advance(250ms);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
  EXPECT_NE((*waiter)->error().message().find("last connect error: connect timed out after 30ms"),
            std::string::npos);
}

TEST_F(PoolTest, ValidationThatHangsTimesOut) {
  auto config = quiet_config();
  config.min_size = 1;
  config.health_check_interval = 1s;
  config.validation_timeout = 30ms;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  script->validations.push_back(Step::never);
  clock->advance(1s);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().health_checks_failed == 1; }));
  EXPECT_EQ(pool.stats().error_count(errc::validation_timeout), 1u);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));  // replaced
}

}  // namespace
}  // namespace connpool::testing
