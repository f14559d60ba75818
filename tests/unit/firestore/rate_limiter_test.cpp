// The BulkWriter's ramp-up rate limit ("500/50/5"), with time passed in.
#include "firestore/bulk/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace connpool::firestore::detail {
namespace {

using namespace std::chrono_literals;
using clock = RampUpRateLimiter::clock;

TEST(RampUpRateLimiter, RateGrowsByHalfEveryFiveMinutesUpToTheCap) {
  RampUpRateLimiter l(500, 1000, 1.5, 300s);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_DOUBLE_EQ(l.rate_at(t0), 500);
  (void)l.acquire(1, t0);  // the ramp starts with the first request
  EXPECT_DOUBLE_EQ(l.rate_at(t0 + 299s), 500);
  EXPECT_DOUBLE_EQ(l.rate_at(t0 + 300s), 750);
  EXPECT_DOUBLE_EQ(l.rate_at(t0 + 600s), 1000);  // 1125 capped
  EXPECT_DOUBLE_EQ(l.rate_at(t0 + 10h), 1000);
}

TEST(RampUpRateLimiter, PacesBatchesAtTheRate) {
  RampUpRateLimiter l(500, 10000, 1.5, 300s);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_EQ(l.acquire(500, t0), 0ns);  // a full bucket to start
  EXPECT_EQ(l.acquire(500, t0), 1s);   // then one second per 500
  // The caller waited that second and sent; the next batch waits another second.
  EXPECT_EQ(l.acquire(500, t0 + 1s), 1s);
  // After a long pause the bucket is full again, but holds no more than a second's worth.
  EXPECT_EQ(l.acquire(500, t0 + 100s), 0ns);
  EXPECT_EQ(l.acquire(250, t0 + 100s), 500ms);
}

TEST(RampUpRateLimiter, ABatchLargerThanOneSecondOfBudgetStillGoes) {
  RampUpRateLimiter l(100, 100, 1.5, 300s);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_EQ(l.acquire(500, t0), 0ns);  // needs only a full bucket
  // ... and the debt is paid by the next request: 400 over and 100 for itself at 100/s.
  EXPECT_EQ(l.acquire(100, t0), 5s);
}

}  // namespace
}  // namespace connpool::firestore::detail
