// Circuit breaker, dynamic sizing and lifetime analytics inside a pool.
#include "connpool/core/fallback.hpp"

#include "pool_fixture.hpp"

namespace connpool::testing {
namespace {

core::PoolConfig breaker_config() {
  auto c = PoolTest::quiet_config();
  c.circuit_breaker.enabled = true;
  c.circuit_breaker.window_size = 10;
  c.circuit_breaker.minimum_calls = 4;
  c.circuit_breaker.failure_rate_threshold = 0.5;
  c.circuit_breaker.open_duration = 5s;
  c.circuit_breaker.half_open_calls = 1;
  return c;
}

TEST_F(PoolTest, BreakerOpensOnBrokenCallsFailsFastAndClosesAfterAProbe) {
  auto pool = make_pool(breaker_config());
  for (int i = 0; i < 4; ++i) {
    auto lease = acquire_now(pool);
    lease.discard();  // an I/O error on a real backend
  }
  auto s = pool.stats();
  EXPECT_EQ(s.circuit_state, core::CircuitState::open);
  const int errors_before = observer->errors.load();
  auto refused = spawn_acquire(pool);
  ASSERT_TRUE(run_until(ioc, [&] { return refused->has_value(); }));
  const Error& e = (*refused)->error();
  EXPECT_EQ(e.code(), errc::circuit_open);
  // The observer counts the rejection (connection_pool_errors_total{type="circuit_open"}).
  EXPECT_EQ(observer->errors.load(), errors_before + 1);
  EXPECT_NE(e.message().find("circuit open in pool 'test' (failure rate 100% over 4 calls); "
                             "next probe in 5s"),
            std::string::npos)
      << e.message();
  EXPECT_EQ(pool.stats().circuit_rejections, 1u);

  // After open_duration the maintenance probe connects; success half-opens the breaker.
  clock->advance(5s);
  pool.run_maintenance();
  ASSERT_TRUE(
      run_until(ioc, [&] { return pool.stats().circuit_state == core::CircuitState::half_open; }));
  {
    auto probe = acquire_now(pool);  // the one permitted call
    ASSERT_TRUE(probe);
  }  // returned healthy
  EXPECT_EQ(pool.stats().circuit_state, core::CircuitState::closed);
  EXPECT_GE(pool.stats().circuit_transitions, 3u);
  expect_invariants(pool);
}

TEST_F(PoolTest, ReportedFailuresOpenTheBreakerWithoutDiscardingTheConnection) {
  auto pool = make_pool(breaker_config());
  for (int i = 0; i < 4; ++i) {
    auto lease = acquire_now(pool);
    lease.report_failure();  // e.g. a gRPC call that ended UNAVAILABLE on a healthy channel
  }
  auto s = pool.stats();
  EXPECT_EQ(s.circuit_state, core::CircuitState::open);
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 0u);  // the connection was kept
  EXPECT_EQ(s.idle, 1u);
  expect_invariants(pool);
}

TEST_F(PoolTest, AReportedFailureIsCountedOnceAndOnlyForItsLease) {
  auto pool = make_pool(breaker_config());
  {
    auto failed = acquire_now(pool);
    failed.report_failure();
    auto moved = std::move(failed);  // the mark travels with the lease
  }
  for (int i = 0; i < 3; ++i) acquire_now(pool).release();  // successes
  const auto s = pool.stats();
  EXPECT_EQ(s.circuit_state, core::CircuitState::closed);
  EXPECT_DOUBLE_EQ(s.circuit_failure_rate, 0.25);
}

TEST_F(PoolTest, BreakerCountsConnectFailuresAndStaysOpenWhileProbesFail) {
  script->set_default_connect(Step::fail);
  auto config = breaker_config();
  config.min_size = 1;
  config.reconnect_backoff_initial = 0ms;
  auto pool = make_pool(config);
  ASSERT_TRUE(
      run_until(ioc, [&] { return pool.stats().circuit_state == core::CircuitState::open; }));
  const int calls = script->connect_calls;
  clock->advance(5s);
  pool.run_maintenance();  // probe fails: stays open, timer restarts
  ASSERT_TRUE(run_until(ioc, [&] { return script->connect_calls > calls; }));
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connecting == 0; }));
  EXPECT_EQ(pool.stats().circuit_state, core::CircuitState::open);
  script->set_default_connect(Step::ok);
  clock->advance(5s);
  pool.run_maintenance();
  ASSERT_TRUE(
      run_until(ioc, [&] { return pool.stats().circuit_state != core::CircuitState::open; }));
}

TEST_F(PoolTest, ServerErrorsThatKeepTheConnectionDoNotOpenTheBreaker) {
  auto pool = make_pool(breaker_config());
  for (int i = 0; i < 20; ++i) {
    auto lease = acquire_now(pool);  // released healthy: a -ERR reply or NOT_FOUND is a result
  }
  EXPECT_EQ(pool.stats().circuit_state, core::CircuitState::closed);
}

TEST_F(PoolTest, DynamicSizingGrowsUnderLoadAndShrinksAfterCooldown) {
  auto config = quiet_config();
  config.min_size = 1;
  config.max_size = 10;
  config.dynamic_sizing.enabled = true;
  config.dynamic_sizing.scale_up_step = 2;
  config.dynamic_sizing.scale_down_step = 1;
  config.dynamic_sizing.scale_up_cooldown = 1s;
  config.dynamic_sizing.scale_down_cooldown = 10s;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  std::vector<TestLease> busy;
  busy.push_back(acquire_now(pool));  // 1 of 1 in use: load 1.0
  clock->advance(1s);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().target_size, 3u);                               // max(target, open) + step
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().total == 3; }));  // pre-opened
  busy.push_back(acquire_now(pool));
  busy.push_back(acquire_now(pool));
  clock->advance(1s);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().target_size, 5u);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().total == 5; }));

  busy.clear();  // the burst is over
  clock->advance(9s);
  pool.run_maintenance();
  EXPECT_EQ(pool.stats().total, 5u);  // cooldown not over
  int steps = 0;
  while (pool.stats().total > 1 && steps < 10) {
    clock->advance(10s);
    pool.run_maintenance();
    ++steps;
  }
  EXPECT_EQ(pool.stats().total, 1u);
  EXPECT_EQ(steps, 4);  // one connection per cooldown
  EXPECT_EQ(pool.stats().target_size, 1u);
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::shrink), 4u);
  expect_invariants(pool);
}

TEST_F(PoolTest, LifetimeAnalyticsTrackUseAndCloses) {
  auto pool = make_pool(quiet_config());
  {
    auto a = acquire_now(pool);
    clock->advance(100ms);
  }
  for (int i = 0; i < 3; ++i) {
    auto a = acquire_now(pool);
    clock->advance(10ms);
  }
  clock->advance(70ms);
  auto conns = pool.connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].id, 1u);
  EXPECT_EQ(conns[0].state, core::ConnectionInfo::State::idle);
  EXPECT_EQ(conns[0].use_count, 4u);
  EXPECT_EQ(conns[0].busy_time, 130ms);
  EXPECT_EQ(conns[0].age, 200ms);
  EXPECT_EQ(conns[0].idle_for, 70ms);
  {
    auto a = acquire_now(pool);
    a.discard();
  }
  auto s = pool.stats();
  EXPECT_EQ(s.lifetimes.closed, 1u);
  EXPECT_EQ(s.lifetimes.closed_lifetime_max, 200ms);
  EXPECT_DOUBLE_EQ(s.lifetimes.closed_uses_mean, 5.0);
  EXPECT_DOUBLE_EQ(s.lifetimes.closed_busy_fraction_mean, 0.65);
}

TEST_F(PoolTest, ConnectionsListShowsStatesAndAges) {
  auto pool = make_pool(quiet_config());
  auto a = acquire_now(pool);
  auto b = acquire_now(pool);
  b.release();
  clock->advance(1s);
  auto conns = pool.connections();
  ASSERT_EQ(conns.size(), 2u);
  int in_use = 0;
  int idle = 0;
  for (const auto& c : conns) {
    EXPECT_EQ(c.age, 1s);
    if (c.state == core::ConnectionInfo::State::in_use) ++in_use;
    if (c.state == core::ConnectionInfo::State::idle) ++idle;
  }
  EXPECT_EQ(in_use, 1);
  EXPECT_EQ(idle, 1);
  auto s = pool.stats();
  EXPECT_EQ(s.lifetimes.live_age_max, 1s);
  EXPECT_EQ(s.lifetimes.live_uses_max, 1u);
}

}  // namespace
}  // namespace connpool::testing

namespace connpool::testing {
namespace {

asio::awaitable<Result<int>> read_through(TestPool& pool) {
  auto lease = co_await pool.acquire();
  if (!lease) co_return std::move(lease).error();
  co_return (*lease)->id * 100;
}

TEST_F(PoolTest, FallbackServesWhileTheCircuitIsOpen) {
  auto pool = make_pool(breaker_config());
  for (int i = 0; i < 4; ++i) {
    auto lease = acquire_now(pool);
    lease.discard();
  }
  ASSERT_EQ(pool.stats().circuit_state, core::CircuitState::open);
  std::optional<Result<int>> out;
  std::optional<Result<int>> passthrough;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto fallback = [](const Error& e) -> Result<int> {
          return e.is(errc::circuit_open) ? 42 : -1;
        };
        auto r = co_await core::with_fallback(read_through(pool), fallback);
        out.emplace(std::move(r));
        // A failure that is not in the trigger list is passed through.
        std::vector<errc> only_timeouts{errc::acquire_timeout};
        auto p = co_await core::with_fallback(read_through(pool), fallback, only_timeouts);
        passthrough.emplace(std::move(p));
      },
      asio::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return passthrough.has_value(); }));
  ASSERT_TRUE(*out);
  EXPECT_EQ(**out, 42);
  ASSERT_FALSE(*passthrough);
  EXPECT_EQ(passthrough->error().code(), errc::circuit_open);
}

}  // namespace
}  // namespace connpool::testing
