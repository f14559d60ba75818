#include "connpool/monitor/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace connpool::monitor {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogram, EmptySnapshot) {
  LatencyHistogram h;
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum_seconds, 0.0);
  ASSERT_EQ(s.upper_bounds.size(), kLatencyBucketsSeconds.size());
  ASSERT_EQ(s.cumulative.size(), kLatencyBucketsSeconds.size() + 1);
  EXPECT_EQ(s.quantile(0.5), 0.0);
}

TEST(LatencyHistogram, BucketsAreUpperInclusive) {
  LatencyHistogram h;
  h.record(0ns);    // le=0.0001
  h.record(100us);  // exactly on the first bound: still le=0.0001
  h.record(101us);  // le=0.00025
  h.record(1ms);    // le=0.001
  h.record(31s);    // +Inf only
  h.record(-5ns);   // clamped to 0
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.cumulative[0], 3u);   // 0, 100us, -5ns
  EXPECT_EQ(s.cumulative[1], 4u);   // + 101us
  EXPECT_EQ(s.cumulative[2], 4u);   // le=0.0005
  EXPECT_EQ(s.cumulative[3], 5u);   // + 1ms
  EXPECT_EQ(s.cumulative[16], 5u);  // le=30
  EXPECT_EQ(s.cumulative[17], 6u);  // +Inf
  EXPECT_NEAR(s.sum_seconds, 0.0001 + 0.000101 + 0.001 + 31.0, 1e-9);
}

TEST(LatencyHistogram, QuantileInterpolatesInsideTheBucket) {
  LatencyHistogram h;
  // 100 observations in (1ms, 2.5ms]: p50 lies halfway through that bucket.
  for (int i = 0; i < 100; ++i) h.record(2ms);
  const auto s = h.snapshot();
  EXPECT_NEAR(s.quantile(0.5), 0.001 + (0.0025 - 0.001) * 0.5, 1e-12);
  EXPECT_NEAR(s.quantile(0.99), 0.001 + (0.0025 - 0.001) * 0.99, 1e-12);
}

TEST(LatencyHistogram, QuantileAcrossBuckets) {
  LatencyHistogram h;
  for (int i = 0; i < 90; ++i) h.record(50us);  // first bucket [0, 100us]
  for (int i = 0; i < 10; ++i) h.record(3s);    // (2.5s, 5s]
  const auto s = h.snapshot();
  EXPECT_NEAR(s.quantile(0.5), 0.0001 * (50.0 / 90.0), 1e-12);
  EXPECT_NEAR(s.quantile(0.99), 2.5 + 2.5 * (9.0 / 10.0), 1e-9);
}

TEST(LatencyHistogram, QuantileInInfBucketReportsLargestBound) {
  LatencyHistogram h;
  h.record(std::chrono::minutes(5));
  EXPECT_EQ(h.snapshot().quantile(0.99), kLatencyBucketsSeconds.back());
}

TEST(LatencyHistogram, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) h.record(std::chrono::microseconds(t * 300 + i % 7));
    });
  }
  for (auto& t : threads) t.join();
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, std::uint64_t{kThreads * kPerThread});
  EXPECT_EQ(s.cumulative.back(), s.count);
}

}  // namespace
}  // namespace connpool::monitor
