// The pool's notion of time. Production uses the steady clock; tests inject a ManualClock so
// idle eviction, lifetimes, backoff, leak detection and acquire deadlines are tested without
// sleeping (they drive the pool with Pool::run_maintenance()).
#pragma once

#include <atomic>
#include <chrono>

namespace connpool::core {

class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  /// Thread-safe.
  [[nodiscard]] virtual time_point now() const noexcept = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] time_point now() const noexcept override {
    return std::chrono::steady_clock::now();
  }
};

/// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  [[nodiscard]] time_point now() const noexcept override {
    return time_point(duration(ticks_.load(std::memory_order_acquire)));
  }
  void advance(duration d) noexcept { ticks_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  // Starts far from the epoch so "now - 1h" is still a valid time point.
  std::atomic<duration::rep> ticks_{
      std::chrono::duration_cast<duration>(std::chrono::hours(1000)).count()};
};

}  // namespace connpool::core
