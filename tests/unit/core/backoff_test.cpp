#include "connpool/core/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>

using connpool::core::Backoff;
using connpool::core::BackoffPolicy;
using namespace std::chrono_literals;

TEST(Backoff, WithoutJitterDoublesUpToTheCap) {
  Backoff b(BackoffPolicy{.initial = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.0}, 7);
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1s);
  EXPECT_EQ(b.next(), 1s);
  EXPECT_EQ(b.failures(), 6U);
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(BackoffPolicy{.initial = 10ms, .max = 1s, .multiplier = 3.0, .jitter = 0.0}, 1);
  (void)b.next();
  (void)b.next();
  b.reset();
  EXPECT_EQ(b.failures(), 0U);
  EXPECT_EQ(b.next(), 10ms);
}

TEST(Backoff, FullJitterStaysWithinZeroAndTheCeilingAndSpreads) {
  Backoff b(BackoffPolicy{.initial = 100ms, .max = 100ms, .multiplier = 2.0, .jitter = 1.0}, 42);
  std::chrono::nanoseconds lo = 1h, hi = 0ns;
  for (int i = 0; i < 1000; ++i) {
    const auto d = b.next();
    ASSERT_GE(d, 0ns);
    ASSERT_LE(d, 100ms);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  // 1000 uniform draws over [0, 100 ms]: the extremes land near both ends.
  EXPECT_LT(lo, 5ms);
  EXPECT_GT(hi, 95ms);
}

TEST(Backoff, PartialJitterKeepsTheLowerBound) {
  Backoff b(BackoffPolicy{.initial = 1s, .max = 1s, .multiplier = 1.0, .jitter = 0.25}, 9);
  for (int i = 0; i < 500; ++i) {
    const auto d = b.next();
    ASSERT_GE(d, 750ms);
    ASSERT_LE(d, 1s);
  }
}

TEST(Backoff, HugeFailureCountsGiveTheCapNotOverflow) {
  Backoff b(BackoffPolicy{.initial = 1ms, .max = 5s, .multiplier = 10.0, .jitter = 0.0}, 3);
  for (int i = 0; i < 10000; ++i) (void)b.next();
  EXPECT_EQ(b.next(), 5s);
}

TEST(Backoff, DistinctInstancesDrawDistinctDelays) {
  const BackoffPolicy p{.initial = 1s, .max = 1s, .multiplier = 1.0, .jitter = 1.0};
  Backoff a(p), c(p);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.next() == c.next() ? 1 : 0;
  EXPECT_LT(same, 20);
}

TEST(Backoff, PolicyProblemsNameTheField) {
  EXPECT_FALSE(connpool::core::backoff_policy_problem(BackoffPolicy{}).has_value());
  EXPECT_NE(connpool::core::backoff_policy_problem(BackoffPolicy{.initial = 0ns})->find("initial"),
            std::string::npos);
  EXPECT_NE(
      connpool::core::backoff_policy_problem(BackoffPolicy{.initial = 2s, .max = 1s})->find("max"),
      std::string::npos);
  EXPECT_NE(
      connpool::core::backoff_policy_problem(BackoffPolicy{.multiplier = 0.5})->find("multiplier"),
      std::string::npos);
  EXPECT_NE(connpool::core::backoff_policy_problem(BackoffPolicy{.jitter = 1.5})->find("jitter"),
            std::string::npos);
}
