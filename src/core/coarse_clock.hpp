// The kernel's coarse monotonic clock, for timestamps that need milliseconds, not nanoseconds.
// Internal to src/core.
//
// On Linux, std::chrono::steady_clock is CLOCK_MONOTONIC; CLOCK_MONOTONIC_COARSE is the same time
// line as of the last scheduler tick: never ahead of steady_clock::now(), behind it by at most one
// tick (4 ms at HZ=250), and read without the TSC (about 8 ns CPU on the development machine,
// against 30 ns for steady_clock::now(); docs/BENCHMARKS.md).
#pragma once

#include <chrono>
#include <ctime>

namespace connpool::core::detail {

inline std::chrono::steady_clock::time_point coarse_steady_now() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
#else
  return std::chrono::steady_clock::now();
#endif
}

/// Whether coarse_steady_now() is on steady_clock's time line here (false where the coarse
/// clock does not exist, or a library's steady_clock is another clock).
inline bool coarse_clock_usable() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  const auto lag = std::chrono::steady_clock::now() - coarse_steady_now();
  return lag >= std::chrono::steady_clock::duration::zero() && lag < std::chrono::seconds(1);
#else
  return false;
#endif
}

}  // namespace connpool::core::detail
