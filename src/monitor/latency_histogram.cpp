#include "connpool/monitor/latency_histogram.hpp"

#include <cmath>

namespace connpool::monitor {

LatencyHistogram::LatencyHistogram() noexcept {
  for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    bounds_ns_[i] = static_cast<std::uint64_t>(std::llround(kLatencyBucketsSeconds[i] * 1e9));
  }
}

HistogramSnapshot LatencyHistogram::snapshot() const {
  HistogramSnapshot s;
  s.upper_bounds.assign(kLatencyBucketsSeconds.begin(), kLatencyBucketsSeconds.end());
  s.cumulative.resize(kBuckets);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

double HistogramSnapshot::quantile(double q) const noexcept {
  if (count == 0 || cumulative.empty()) return 0.0;
  if (q <= 0.0) q = 0.0;
  if (q >= 1.0) q = 1.0;
  const double rank = q * static_cast<double>(count);
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    if (static_cast<double>(cumulative[i]) < rank) continue;
    if (i >= upper_bounds.size()) return upper_bounds.empty() ? 0.0 : upper_bounds.back();
    const double lower = i == 0 ? 0.0 : upper_bounds[i - 1];
    const double below = i == 0 ? 0.0 : static_cast<double>(cumulative[i - 1]);
    const double in_bucket = static_cast<double>(cumulative[i]) - below;
    if (in_bucket <= 0.0) return upper_bounds[i];
    return lower + (upper_bounds[i] - lower) * ((rank - below) / in_bucket);
  }
  return upper_bounds.empty() ? 0.0 : upper_bounds.back();
}

}  // namespace connpool::monitor
