// LatencyHistogram: a fixed-bucket histogram of durations whose record() is a few relaxed atomic
// adds, used for the pool's wait, usage and connect times.
//
// Why not prometheus::Histogram: in prometheus-cpp 1.0 every Observe() takes a mutex and runs two
// compare-and-swap loops on doubles. The observer sits on the acquire and release paths of every
// pool, so it records into integer atomics here and the metrics registry converts a snapshot to
// Prometheus's data model at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace connpool::monitor {

/// Upper bounds (seconds) of the buckets every connpool latency histogram uses: from 100 us
/// (an uncontended acquire) to 30 s (a connection held for a long transaction). The +Inf bucket is
/// implicit.
inline constexpr std::array<double, 17> kLatencyBucketsSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0};

/// A consistent-enough copy of a histogram: bucket counts are read one by one while writers may
/// run, so a snapshot taken under load can lag by the few observations in flight, but `count` is
/// always the sum of the buckets (the +Inf bucket equals _count, as Prometheus requires).
struct HistogramSnapshot {
  /// Finite upper bounds in seconds, ascending (the +Inf bucket is implicit).
  std::vector<double> upper_bounds;
  /// Cumulative counts; size upper_bounds.size() + 1, the last one is the +Inf bucket.
  std::vector<std::uint64_t> cumulative;
  std::uint64_t count = 0;
  double sum_seconds = 0.0;

  /// Estimate of the q-quantile (0 < q < 1) in seconds, interpolating linearly inside the bucket
  /// the way PromQL's histogram_quantile() does (the first bucket starts at 0; a quantile in the
  /// +Inf bucket reports the largest finite bound). 0 when the histogram is empty.
  [[nodiscard]] double quantile(double q) const noexcept;
};

/// Thread safety: record() and snapshot() may run concurrently from any threads.
class LatencyHistogram {
 public:
  LatencyHistogram() noexcept;

  /// Counts one observation. Negative durations count as 0. Lock-free.
  void record(std::chrono::nanoseconds d) noexcept {
    const auto ns = d.count() < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(d.count());
    buckets_[bucket_index(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  }

  [[nodiscard]] HistogramSnapshot snapshot() const;

 private:
  static constexpr std::size_t kBuckets = kLatencyBucketsSeconds.size() + 1;

  // A linear scan over 17 sorted integers is branch-predictable and beats a binary search at
  // this size; most pool waits land in the first bucket.
  [[nodiscard]] std::size_t bucket_index(std::uint64_t ns) const noexcept {
    std::size_t i = 0;
    while (i < bounds_ns_.size() && ns > bounds_ns_[i]) ++i;
    return i;
  }

  std::array<std::uint64_t, kLatencyBucketsSeconds.size()> bounds_ns_{};
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace connpool::monitor
