#include "connpool/core/demand_forecast.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

using connpool::core::DemandForecaster;
using connpool::core::ForecastConfig;
using namespace std::chrono_literals;
using TimePoint = DemandForecaster::TimePoint;

namespace {

TimePoint at(std::chrono::milliseconds ms) {
  return TimePoint(std::chrono::hours(1)) + ms;
}

}  // namespace

TEST(DemandForecast, FlatDemandForecastsItselfWithoutTrend) {
  DemandForecaster f;
  for (int i = 0; i <= 60; ++i) f.observe(at(i * 500ms), 10.0);
  EXPECT_NEAR(f.level(), 10.0, 1e-9);
  EXPECT_NEAR(f.trend(), 0.0, 1e-9);
  EXPECT_NEAR(f.forecast(3s), 10.0, 1e-9);
  EXPECT_EQ(f.target(), 12U);  // 10 x 1.2 headroom
}

TEST(DemandForecast, LinearRampIsForecastAhead) {
  // Demand grows 2 connections per second; after warming up, the forecast 3 s ahead is about
  // 6 connections above the current demand, which is what lets the pool open them in time.
  DemandForecaster f(ForecastConfig{.headroom = 0.0});
  double demand = 0;
  for (int i = 0; i <= 120; ++i) {
    demand = 2.0 * (i * 0.5);
    f.observe(at(i * 500ms), demand);
  }
  EXPECT_NEAR(f.trend(), 2.0, 0.1);
  EXPECT_GT(f.forecast(3s), demand + 4.0);
  EXPECT_LT(f.forecast(3s), demand + 8.0);
  EXPECT_GE(static_cast<double>(f.target()), demand + 4.0);
}

TEST(DemandForecast, FallingDemandShrinksThroughTheLevelNotTheTrend) {
  DemandForecaster f(ForecastConfig{.headroom = 0.0});
  for (int i = 0; i <= 20; ++i) f.observe(at(i * 500ms), 20.0);
  for (int i = 21; i <= 40; ++i) f.observe(at(i * 500ms), 20.0 - (i - 20));
  // The trend is negative, but the target stays at or above the level: never close what the
  // current demand still uses because of a forecast.
  EXPECT_LT(f.trend(), 0.0);
  EXPECT_GE(static_cast<double>(f.target()), f.level() - 1e-9);
  EXPECT_GE(f.forecast(0s), 0.0);
}

TEST(DemandForecast, IrregularSamplesWeighByTime) {
  // One sample after a long gap moves the level almost all the way; one after a tiny gap barely.
  DemandForecaster slow(ForecastConfig{.trend_time_constant = 1000000ms});
  slow.observe(at(0ms), 0.0);
  slow.observe(at(20000ms), 10.0);
  EXPECT_GT(slow.level(), 9.9);

  DemandForecaster fast(ForecastConfig{.trend_time_constant = 1000000ms});
  fast.observe(at(0ms), 0.0);
  fast.observe(at(10ms), 10.0);
  EXPECT_LT(fast.level(), 0.1);
}

TEST(DemandForecast, SameInstantKeepsThePeak) {
  DemandForecaster f;
  f.observe(at(0ms), 3.0);
  f.observe(at(0ms), 9.0);
  f.observe(at(0ms), 1.0);
  EXPECT_DOUBLE_EQ(f.level(), 9.0);
}

TEST(DemandForecast, WaveIsAnticipatedOnItsRisingEdge) {
  // A slow sine wave (period 60 s, 5..25 connections): on the rising edge the forecast leads the
  // demand, on the falling edge the target does not fall below the level.
  DemandForecaster f(ForecastConfig{.headroom = 0.0});
  const double pi = std::acos(-1.0);
  auto demand_at = [&](double t) { return 15.0 + 10.0 * std::sin(2 * pi * t / 60.0); };
  int leading = 0, rising = 0;
  for (int i = 0; i <= 480; ++i) {
    const double t = i * 0.5;
    f.observe(at(std::chrono::milliseconds(i * 500)), demand_at(t));
    const double slope = std::cos(2 * pi * t / 60.0);
    if (t > 60 && slope > 0.5) {
      ++rising;
      if (f.forecast(3s) > demand_at(t)) ++leading;
    }
  }
  ASSERT_GT(rising, 0);
  EXPECT_GT(leading, rising * 9 / 10);
}

TEST(DemandForecast, NeverNegativeAndZeroBeforeTheFirstSample) {
  DemandForecaster f;
  EXPECT_EQ(f.target(), 0U);
  EXPECT_EQ(f.forecast(10s), 0.0);
  f.observe(at(0ms), 50.0);
  f.observe(at(1000ms), 0.0);
  f.observe(at(2000ms), 0.0);
  EXPECT_GE(f.forecast(100s), 0.0);
  f.observe(at(3000ms), -5.0);  // nonsense input is clamped, not propagated
  EXPECT_GE(f.level(), 0.0);
}

TEST(DemandForecast, ConfigProblemsNameTheField) {
  EXPECT_FALSE(connpool::core::forecast_config_problem(ForecastConfig{}).has_value());
  EXPECT_NE(
      connpool::core::forecast_config_problem(ForecastConfig{.horizon = 0ms})->find("horizon"),
      std::string::npos);
  EXPECT_NE(
      connpool::core::forecast_config_problem(ForecastConfig{.headroom = -1})->find("headroom"),
      std::string::npos);
  EXPECT_NE(connpool::core::forecast_config_problem(ForecastConfig{.level_time_constant = 0ms})
                ->find("level_time_constant"),
            std::string::npos);
}
