// One factor for timing assertions under sanitizers: TSan and ASan slow code down several
// times, so a test's real-time bound is multiplied by kSanitizerFactor instead of the test
// being skipped. Header-only, so the pool-core tests (built without the rest of tests/support)
// can use it too.
#pragma once

#include <chrono>

namespace connpool::test {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerFactor = 3;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr int kSanitizerFactor = 3;
#else
inline constexpr int kSanitizerFactor = 1;
#endif
#else
inline constexpr int kSanitizerFactor = 1;
#endif

// One factor for memory bounds (peak RSS) under sanitizers. TSan maps shadow memory for the
// application memory it touches (the proxy's E3 test: 88-105 MiB plain, 330 MiB under TSan);
// ASan adds redzones and keeps freed blocks in a quarantine. A bound well under what the
// unbounded behaviour would reach stays under it when both are scaled.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerMemoryFactor = 4;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerMemoryFactor = 3;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr int kSanitizerMemoryFactor = 4;
#elif __has_feature(address_sanitizer)
inline constexpr int kSanitizerMemoryFactor = 3;
#else
inline constexpr int kSanitizerMemoryFactor = 1;
#endif
#else
inline constexpr int kSanitizerMemoryFactor = 1;
#endif

/// `d` stretched for a sanitizer build; unchanged otherwise.
template <class Rep, class Period>
constexpr std::chrono::duration<Rep, Period> scaled(std::chrono::duration<Rep, Period> d) {
  return d * kSanitizerFactor;
}

}  // namespace connpool::test
