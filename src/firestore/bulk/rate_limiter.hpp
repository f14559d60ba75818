// Private: the BulkWriter's pacing, Firestore's "500/50/5" rule (start at 500 operations per
// second, +50 % every 5 minutes) as a token bucket whose rate ramps up. Pure: time is passed in,
// so the rule is unit-tested without waiting.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <optional>

namespace connpool::firestore::detail {

class RampUpRateLimiter {
 public:
  using clock = std::chrono::steady_clock;

  RampUpRateLimiter(double initial_per_second, double max_per_second, double factor,
                    std::chrono::nanoseconds interval)
      : initial_(initial_per_second), max_(max_per_second), factor_(factor), interval_(interval) {}

  /// The rate in force at `now` (the ramp starts with the first request).
  [[nodiscard]] double rate_at(clock::time_point now) const {
    if (!start_) return std::min(initial_, max_);
    const double steps = std::floor(std::chrono::duration<double>(now - *start_).count() /
                                    std::chrono::duration<double>(interval_).count());
    return std::min(max_, initial_ * std::pow(factor_, std::max(0.0, steps)));
  }

  /// Takes `n` operations' worth of budget at `now`: returns how long to wait before sending
  /// them (zero: send now). The budget is charged either way, so callers wait, then send.
  /// The bucket holds at most one second of budget, but a request larger than that may always
  /// go once the bucket is full (so a 500-write batch at 100 ops/s waits, not forever).
  std::chrono::nanoseconds acquire(std::size_t n, clock::time_point now) {
    if (!start_) {
      start_ = now;
      last_ = now;
      tokens_ = rate_at(now);
    }
    const double rate = rate_at(now);
    if (now > last_) {
      tokens_ = std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - last_).count());
      last_ = now;
    }
    const double need = std::min(static_cast<double>(n), rate);
    double wait_s = 0;
    if (tokens_ < need) wait_s = (need - tokens_) / rate;
    tokens_ -= static_cast<double>(n);
    // Debt beyond the wait is paid by later requests.
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1e9)));
  }

 private:
  double initial_;
  double max_;
  double factor_;
  std::chrono::nanoseconds interval_;
  std::optional<clock::time_point> start_;
  clock::time_point last_{};
  double tokens_ = 0;
};

}  // namespace connpool::firestore::detail
