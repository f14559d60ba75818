// One factor for timing assertions under sanitizers: TSan and ASan slow code down several
// times, so a test's real-time bound is multiplied by kSanitizerFactor instead of the test
// being skipped. Memory bounds (peak RSS) take kSanitizerMemoryFactor: TSan maps shadow memory
// for the application memory it touches (the proxy's E3 test: 88-105 MiB plain, 330 MiB under
// TSan); ASan adds redzones and keeps freed blocks in a quarantine. A bound well under what the
// unbounded behaviour would reach stays under it when both are scaled. Header-only, so the
// pool-core tests (built without the rest of tests/support) can use it too.
#pragma once

#include <chrono>

#if defined(__SANITIZE_THREAD__)
#define CONNPOOL_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONNPOOL_TEST_TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CONNPOOL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONNPOOL_TEST_ASAN 1
#endif
#endif

namespace connpool::test {

#ifdef CONNPOOL_TEST_TSAN
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif
#ifdef CONNPOOL_TEST_ASAN
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif

inline constexpr int kSanitizerFactor = (kUnderTsan || kUnderAsan) ? 3 : 1;
inline constexpr int kSanitizerMemoryFactor = kUnderTsan ? 4 : (kUnderAsan ? 3 : 1);

/// `d` stretched for a sanitizer build; unchanged otherwise.
template <class Rep, class Period>
constexpr std::chrono::duration<Rep, Period> scaled(std::chrono::duration<Rep, Period> d) {
  return d * kSanitizerFactor;
}

}  // namespace connpool::test
