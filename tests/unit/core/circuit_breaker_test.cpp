#include "connpool/core/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace connpool::core {
namespace {

using namespace std::chrono_literals;
using TP = CircuitBreaker::TimePoint;

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.enabled = true;
  c.window_size = 10;
  c.minimum_calls = 4;
  c.failure_rate_threshold = 0.5;
  c.open_duration = 1000ms;
  c.half_open_calls = 2;
  return c;
}

TEST(CircuitBreaker, OpensAtTheFailureRateOnceMinimumCallsAreIn) {
  TP t{};
  CircuitBreaker b(config(), t);
  b.record(false, t);
  b.record(false, t);
  b.record(false, t);
  EXPECT_EQ(b.state(), CircuitState::closed);  // 3 < minimum_calls
  b.record(true, t);
  EXPECT_EQ(b.state(), CircuitState::open);  // 3 of 4 failed
  EXPECT_DOUBLE_EQ(b.failure_rate(), 0.75);
  EXPECT_FALSE(b.allow(t + 999ms));
  auto tr = b.take_transition();
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->from, CircuitState::closed);
  EXPECT_EQ(tr->to, CircuitState::open);
}

TEST(CircuitBreaker, StaysClosedBelowTheThreshold) {
  TP t{};
  CircuitBreaker b(config(), t);
  for (int i = 0; i < 100; ++i) b.record(i % 3 != 2, t);  // every third fails
  EXPECT_EQ(b.state(), CircuitState::closed);
  EXPECT_TRUE(b.allow(t));
}

TEST(CircuitBreaker, HalfOpenAdmitsProbesAndClosesWhenAllSucceed) {
  TP t{};
  CircuitBreaker b(config(), t);
  for (int i = 0; i < 4; ++i) b.record(false, t);
  ASSERT_EQ(b.state(), CircuitState::open);
  t += 1000ms;
  EXPECT_TRUE(b.allow(t));
  EXPECT_EQ(b.state(), CircuitState::half_open);
  EXPECT_TRUE(b.allow(t));
  EXPECT_FALSE(b.allow(t));  // only half_open_calls probes
  b.record(true, t);
  EXPECT_EQ(b.state(), CircuitState::half_open);
  b.record(true, t);
  EXPECT_EQ(b.state(), CircuitState::closed);
  EXPECT_DOUBLE_EQ(b.failure_rate(), 0.0);  // history cleared
}

TEST(CircuitBreaker, HalfOpenFailureReopens) {
  TP t{};
  CircuitBreaker b(config(), t);
  for (int i = 0; i < 4; ++i) b.record(false, t);
  t += 1000ms;
  ASSERT_TRUE(b.allow(t));
  b.record(false, t);
  EXPECT_EQ(b.state(), CircuitState::open);
  EXPECT_EQ(b.next_probe_at(), t + 1000ms);
}

TEST(CircuitBreaker, TimeWindowForgetsOldOutcomes) {
  auto c = config();
  c.window = CircuitBreakerConfig::Window::time;
  c.window_duration = 1000ms;
  TP t{};
  CircuitBreaker b(c, t);
  b.record(false, t);
  b.record(false, t);
  b.record(false, t);
  t += 1500ms;  // those three fall out of the window
  b.record(true, t);
  b.record(true, t);
  b.record(true, t);
  b.record(false, t);
  EXPECT_EQ(b.state(), CircuitState::closed);
  EXPECT_DOUBLE_EQ(b.failure_rate(), 0.25);
}

TEST(CircuitBreaker, ProbeSuccessMovesOpenToHalfOpen) {
  TP t{};
  CircuitBreaker b(config(), t);
  for (int i = 0; i < 4; ++i) b.record(false, t);
  b.probe_succeeded(t + 10ms);
  EXPECT_EQ(b.state(), CircuitState::half_open);
}

TEST(CircuitBreaker, DisabledAlwaysAllows) {
  CircuitBreakerConfig c;
  TP t{};
  CircuitBreaker b(c, t);
  for (int i = 0; i < 100; ++i) b.record(false, t);
  EXPECT_TRUE(b.allow(t));
  EXPECT_EQ(b.state(), CircuitState::closed);
}

TEST(CircuitBreaker, ConfigRulesNameTheField) {
  auto c = config();
  c.failure_rate_threshold = 0;
  EXPECT_EQ(c.validate().error().message(),
            "circuit_breaker.failure_rate_threshold (0.000000) must be in (0, 1]");
  c = config();
  c.half_open_calls = 0;
  EXPECT_EQ(c.validate().error().message(), "circuit_breaker.half_open_calls (0) must be >= 1");
}

}  // namespace
}  // namespace connpool::core
