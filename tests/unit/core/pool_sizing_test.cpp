// Predictive sizing against scripted demand on the manual clock: ramp, spike, daily-like wave,
// flat; it never opens while the breaker is open and never goes below min_size. Demand is
// "hold this many leases now"; a tick is one maintenance run per sample_interval.
#include "pool_fixture.hpp"

#include <cmath>
#include <functional>
#include <vector>

namespace connpool::testing {
namespace {

core::PoolConfig sizing_config(core::SizingMode mode) {
  auto c = PoolTest::quiet_config();
  c.min_size = 1;
  c.max_size = 20;
  c.sizing = mode;
  c.max_idle_time = 3s;  // so that fixed, too, gives connections back in a trough
  c.predictive.sample_interval = 100ms;
  c.predictive.scale_down_delay = 2s;
  return c;
}

// What one scripted run saw.
struct Outcome {
  int acquires = 0;
  int waited = 0;  // acquires that found no idle connection (had to wait for a connect)
  std::size_t min_total = SIZE_MAX;
  std::size_t max_total = 0;
};

class SizingTest : public PoolTest {
 protected:
  // Holds `demand(t)` leases at each tick from `from` to `to` (tick = 100 ms), running
  // maintenance every tick and letting planned connects complete.
  Outcome drive(TestPool& pool, const std::function<int(double)>& demand, double from, double to) {
    Outcome out;
    for (double t = from; t < to - 1e-9; t += 0.1) {
      const auto want = static_cast<std::size_t>(std::max(0, demand(t)));
      while (busy.size() > want) busy.pop_back();
      while (busy.size() < want) {
        if (pool.stats().idle == 0) ++out.waited;
        ++out.acquires;
        busy.push_back(acquire_now(pool));
      }
      clock->advance(100ms);
      pool.run_maintenance();
      settle(pool);
      const auto s = pool.stats();
      out.min_total = std::min(out.min_total, s.total);
      out.max_total = std::max(out.max_total, s.total);
    }
    return out;
  }

  // Lets the connects planned so far complete.
  void settle(TestPool& pool) {
    EXPECT_TRUE(run_until(ioc, [&] { return pool.stats().connecting == 0; }));
  }

  std::vector<TestLease> busy;
};

int ramp(double t) {
  return 1 + static_cast<int>(t);  // one more connection in use every second
}

int wave(double t) {
  // A compressed day: 2 at night, 14 at noon, one period per 20 s.
  return static_cast<int>(std::lround(8.0 - 6.0 * std::cos(2.0 * M_PI * t / 20.0)));
}

TEST_F(SizingTest, RampIsServedAheadOfDemand) {
  auto pool = make_pool(sizing_config(core::SizingMode::predictive));
  const Outcome warm = drive(pool, ramp, 0.0, 6.0);
  const Outcome late = drive(pool, ramp, 6.0, 15.0);
  // Once the trend is learnt, each new lease finds a connection already open.
  EXPECT_EQ(late.waited, 0) << "of " << late.acquires << " acquires in the ramp's second half";
  EXPECT_GT(pool.stats().target_size, static_cast<std::size_t>(ramp(14.9)));
  EXPECT_GT(pool.stats().forecast, static_cast<double>(ramp(14.9)));
  EXPECT_LE(late.max_total, 20u);
  (void)warm;
  expect_invariants(pool);
}

TEST_F(SizingTest, WaveWaitsFarLessThanFixed) {
  auto fixed_pool = make_pool(sizing_config(core::SizingMode::fixed));
  const Outcome fixed = drive(fixed_pool, wave, 0.0, 60.0);
  busy.clear();
  auto pool = make_pool(sizing_config(core::SizingMode::predictive));
  const Outcome predictive = drive(pool, wave, 0.0, 60.0);
  ASSERT_GT(fixed.waited, 0);
  EXPECT_LE(predictive.waited * 2, fixed.waited)
      << "predictive " << predictive.waited << " waits, fixed " << fixed.waited;
  EXPECT_GE(predictive.min_total, 1u);  // min_size
  EXPECT_LE(predictive.max_total, 20u);
  // It also gives connections back in the troughs (a wave is not a ramp to max_size).
  EXPECT_GT(pool.stats().closed_count(core::CloseReason::shrink), 0u);
  busy.clear();
  expect_invariants(pool);
}

TEST_F(SizingTest, SpikeRaisesTheTargetThenItFallsAfterTheDelayNeverBelowMinSize) {
  auto config = sizing_config(core::SizingMode::predictive);
  config.min_size = 2;
  auto pool = make_pool(config);
  const auto flat2 = [](double) { return 2; };
  drive(pool, flat2, 0.0, 20.0);
  EXPECT_LE(pool.stats().total, 3u);  // 2 x 1.2 rounded up: nothing foresees the spike
  drive(
      pool, [](double) { return 12; }, 20.0, 21.0);
  EXPECT_GE(pool.stats().target_size, 12u);
  const std::size_t peak = pool.stats().total;
  EXPECT_GE(peak, 12u);
  // Right after the spike nothing closes (scale_down_delay 2 s) ...
  drive(pool, flat2, 21.0, 22.0);
  EXPECT_GE(pool.stats().total, peak);
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::shrink), 0u);
  // ... then follows the forecast down, to min_size at the lowest.
  const Outcome after = drive(
      pool, [](double) { return 0; }, 22.0, 80.0);
  EXPECT_EQ(pool.stats().total, 2u);
  EXPECT_EQ(pool.stats().target_size, 2u);
  EXPECT_GE(after.min_total, 2u);
  EXPECT_GT(pool.stats().closed_count(core::CloseReason::shrink), 0u);
  expect_invariants(pool);
}

TEST_F(SizingTest, FlatDemandSettlesWithoutChurn) {
  auto pool = make_pool(sizing_config(core::SizingMode::predictive));
  drive(
      pool, [](double) { return 5; }, 0.0, 10.0);
  const auto created = pool.stats().created;
  const auto shrunk = pool.stats().closed_count(core::CloseReason::shrink);
  const Outcome steady = drive(
      pool, [](double) { return 5; }, 10.0, 60.0);
  const auto s = pool.stats();
  EXPECT_EQ(s.target_size, 6u);  // 5 x 1.2 headroom
  EXPECT_EQ(s.total, 6u);
  EXPECT_EQ(s.created, created);  // nothing opened or closed in the steady state
  EXPECT_EQ(s.closed_count(core::CloseReason::shrink), shrunk);
  EXPECT_EQ(steady.waited, 0);
  EXPECT_NEAR(s.forecast, 5.0, 0.01);
  EXPECT_EQ(s.sizing, core::SizingMode::predictive);
}

TEST_F(SizingTest, NeverOpensWhileTheCircuitIsOpen) {
  auto config = sizing_config(core::SizingMode::predictive);
  config.circuit_breaker.enabled = true;
  config.circuit_breaker.window_size = 10;
  config.circuit_breaker.minimum_calls = 4;
  config.circuit_breaker.failure_rate_threshold = 0.5;
  config.circuit_breaker.open_duration = 30s;
  config.circuit_breaker.half_open_calls = 1;
  auto pool = make_pool(config);
  // Demand ramps up for a few seconds: the forecaster learns a rising trend.
  drive(pool, ramp, 0.0, 4.0);
  busy.clear();
  for (int i = 0; i < 4; ++i) {
    auto lease = acquire_now(pool);
    lease.discard();  // I/O errors: the breaker opens
  }
  ASSERT_EQ(pool.stats().circuit_state, core::CircuitState::open);
  const int connects = script->connect_calls.load();
  const std::size_t target = pool.stats().target_size;
  // Callers keep coming (they fail fast); ticks keep sampling; well inside open_duration.
  for (int tick = 0; tick < 100; ++tick) {
    auto slot = spawn_acquire(pool);
    ASSERT_TRUE(run_until(ioc, [&] { return slot->has_value(); }));
    EXPECT_FALSE(**slot);
    clock->advance(100ms);
    pool.run_maintenance();
    settle(pool);
  }
  EXPECT_EQ(pool.stats().circuit_state, core::CircuitState::open);
  EXPECT_EQ(script->connect_calls.load(), connects);
  EXPECT_LE(pool.stats().target_size, target);
  expect_invariants(pool);
}

TEST_F(SizingTest, IdleMinSizeStaysOpen) {
  auto config = sizing_config(core::SizingMode::predictive);
  config.min_size = 3;
  auto pool = make_pool(config);
  const Outcome idle = drive(
      pool, [](double) { return 0; }, 0.0, 30.0);
  EXPECT_EQ(idle.min_total, 3u);
  EXPECT_EQ(pool.stats().target_size, 3u);
}

TEST(SizingConfig, PredictiveParametersAreValidatedAndTheOldSwitchMeansReactive) {
  core::PoolConfig c;
  c.sizing = core::SizingMode::predictive;
  c.predictive.horizon = 0ms;
  auto r = c.validate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("predictive.horizon"), std::string::npos)
      << r.error().message();
  c.predictive.horizon = 3s;
  c.predictive.headroom = -1.0;
  EXPECT_FALSE(c.validate());

  core::PoolConfig old;
  old.dynamic_sizing.enabled = true;
  EXPECT_EQ(old.sizing_mode(), core::SizingMode::reactive);
  old.sizing = core::SizingMode::predictive;
  EXPECT_EQ(old.sizing_mode(), core::SizingMode::predictive);
  EXPECT_EQ(core::parse_sizing_mode("predictive"), core::SizingMode::predictive);
  EXPECT_EQ(core::parse_sizing_mode("Predictive"), std::nullopt);
  EXPECT_EQ(core::to_string(core::SizingMode::reactive), "reactive");
}

}  // namespace
}  // namespace connpool::testing
