// A connection that dies while the pool holds it (issue 15 item 5): the connector's watch()
// tells the pool, which drops a dead idle connection at once, counts the error, reconnects at
// once and, while below min_size, never waits longer than min_size_backoff_cap between tries.
#include "pool_fixture.hpp"

namespace connpool::testing {
namespace {

core::PoolConfig dead_idle_config() {
  auto c = PoolTest::quiet_config();
  c.min_size = 2;
  c.reconnect_backoff_initial = 100ms;
  c.reconnect_backoff_max = 10s;
  c.reconnect_backoff_multiplier = 2.0;
  c.reconnect_backoff_jitter = 0.0;
  c.min_size_backoff_cap = 1s;
  return c;
}

TEST_F(PoolTest, AnIdleConnectionThatDiesIsDroppedCountedAndReconnectedAtOnce) {
  auto pool = make_pool(dead_idle_config());
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  const int errors_before = observer->errors.load();
  script->set_default_connect(Step::fail);  // the server is gone
  ASSERT_EQ(script->kill_all(), 2);

  // No health check and no clock advance: the death notice alone empties the pool, and the
  // first reconnect starts at once.
  ASSERT_TRUE(run_until(
      ioc, [&] { return pool.stats().total == 0 && pool.stats().connect_failures >= 1; }));
  const auto s = pool.stats();
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 2u);
  EXPECT_EQ(s.error_count(errc::io_error), 2u);
  EXPECT_EQ(s.health_checks_failed, 0u);
  EXPECT_GE(observer->errors.load(), errors_before + 3);  // two deaths, one failed reconnect
  EXPECT_EQ(script->validate_calls.load(), 0);
  expect_invariants(pool);
}

TEST_F(PoolTest, BelowMinSizeTheConnectBackoffIsCappedSoAReturningServerIsFoundQuickly) {
  auto pool = make_pool(dead_idle_config());
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  script->set_default_connect(Step::fail);
  script->kill_all();
  ASSERT_TRUE(run_until(ioc, [&] {
    const auto s = pool.stats();
    return s.connect_failures >= 1 && s.connecting == 0;  // the first reconnects, in parallel
  }));

  // Uncapped, the waits would be 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4 s: a 1 s step would find no
  // attempt due from the fifth on. Capped, every 1 s step brings exactly one attempt.
  for (int step = 0; step < 8; ++step) {
    const int calls = script->connect_calls.load();
    const auto failures = pool.stats().connect_failures;
    clock->advance(1s);
    pool.run_maintenance();
    ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connect_failures > failures; }))
        << "no connect attempt within the 1 s cap after " << step + 1 << " failures";
    EXPECT_EQ(script->connect_calls.load(), calls + 1) << "one probe at a time while failing";
  }

  script->set_default_connect(Step::ok);  // the server is back
  clock->advance(1s);
  pool.run_maintenance();
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  expect_invariants(pool);
}

TEST_F(PoolTest, AtOrAboveMinSizeTheBackoffIsNotCapped) {
  auto config = dead_idle_config();
  config.min_size = 0;
  auto pool = make_pool(config);
  script->set_default_connect(Step::fail);
  auto waiter = spawn_acquire(pool, 60s);  // keeps the pool trying
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connect_failures >= 1; }));
  // 0.1 + 0.2 + 0.4 + 0.8 s: four more failures within 1.5 s; the wait after the fifth is 1.6 s.
  for (int i = 0; i < 15 && pool.stats().connect_failures < 5; ++i) {
    clock->advance(100ms);
    pool.run_maintenance();
    run_until(
        ioc, [] { return false; }, 5ms);
  }
  ASSERT_EQ(pool.stats().connect_failures, 5u);
  const int calls = script->connect_calls.load();
  clock->advance(1s);
  pool.run_maintenance();
  run_until(
      ioc, [] { return false; }, 20ms);
  EXPECT_EQ(script->connect_calls.load(), calls) << "min_size 0: reconnect_backoff_max applies";
  pool.close_now();
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
}

TEST_F(PoolTest, DeadIdleConnectionsCountAsFailuresForTheBreaker) {
  auto config = dead_idle_config();
  config.min_size = 4;
  config.circuit_breaker.enabled = true;
  config.circuit_breaker.window_size = 10;
  config.circuit_breaker.minimum_calls = 4;
  config.circuit_breaker.failure_rate_threshold = 0.5;
  config.circuit_breaker.open_duration = 5s;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 4; }));
  EXPECT_EQ(pool.stats().circuit_state, core::CircuitState::closed);
  script->set_default_connect(Step::fail);
  script->kill_all();  // no caller made a call: only the death notices can open it
  ASSERT_TRUE(
      run_until(ioc, [&] { return pool.stats().circuit_state == core::CircuitState::open; }));
  pool.close_now();
  drain(ioc);
}

TEST_F(PoolTest, ALeasedConnectionThatDiesTakesNoNewLeaseAndClosesOnReturn) {
  auto config = dead_idle_config();
  config.min_size = 1;
  config.max_leases_per_connection = 4;  // shared: a dead one must not be handed out again
  auto pool = make_pool(config);
  auto lease = acquire_now(pool);
  ASSERT_TRUE(lease);
  script->kill_all();
  ASSERT_TRUE(run_until(ioc, [&] {
    const auto conns = pool.connections();
    return conns.size() == 1 && conns[0].state == core::ConnectionInfo::State::draining;
  }));
  EXPECT_EQ(pool.stats().error_count(errc::io_error), 1u);
  auto second = acquire_now(pool);  // served by a new connection, not the dead one
  ASSERT_TRUE(second);
  EXPECT_NE(second->id, lease->id);
  lease.release();  // the existing broken-on-release path closes it
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::broken), 1u);
  expect_invariants(pool);
}

TEST_F(PoolTest, ClosingConnectionsItselfIsNotCountedAsADeath) {
  auto config = dead_idle_config();
  config.max_idle_time = 1s;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  ASSERT_TRUE(pool.resize(0, 4));
  clock->advance(2s);
  pool.run_maintenance();  // evicts both as idle: closing fires their watchers
  ASSERT_TRUE(run_until(ioc, [&] { return script->closed.load() == 2; }));
  run_until(
      ioc, [] { return false; }, 20ms);
  const auto s = pool.stats();
  EXPECT_EQ(s.closed_count(core::CloseReason::idle), 2u);
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 0u);
  EXPECT_EQ(s.error_count(errc::io_error), 0u);
  EXPECT_EQ(observer->errors.load(), 0);
  expect_invariants(pool);
}

}  // namespace
}  // namespace connpool::testing
