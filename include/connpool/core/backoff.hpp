// The one exponential backoff of connpool: the pool's reconnects, Firestore's RPC retries, the
// Subscriber's reconnects and the Cluster client's TRYAGAIN/CLUSTERDOWN waits all draw their
// delays from it, so "how long do we wait after N failures" has one answer and one test.
//
// Thread safety: none. Each retry loop (or the pool engine, under its lock) owns its Backoff.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace connpool::core {

struct BackoffPolicy {
  /// Delay after the first failure, before jitter. Must be > 0. Default 100 ms.
  std::chrono::nanoseconds initial{std::chrono::milliseconds(100)};
  /// Cap on the delay before jitter. Must be >= initial. Default 10 s.
  std::chrono::nanoseconds max{std::chrono::seconds(10)};
  /// Growth per further failure. Must be >= 1. Default 2.
  double multiplier = 2.0;
  /// Share of the delay that is random: the delay is uniform in [d * (1 - jitter), d]. 1 is
  /// "full jitter" (callers that failed together do not retry together); 0 is deterministic.
  /// Must be in [0, 1]. Default 1.
  double jitter = 1.0;
};

/// Why a policy is unusable, naming the field; nullopt when it is fine.
[[nodiscard]] inline std::optional<std::string> backoff_policy_problem(const BackoffPolicy& p) {
  if (p.initial.count() <= 0) return "backoff initial delay must be > 0";
  if (p.max < p.initial) return "backoff max delay must be >= the initial delay";
  if (!(p.multiplier >= 1.0)) return "backoff multiplier must be >= 1";
  if (!(p.jitter >= 0.0 && p.jitter <= 1.0)) return "backoff jitter must be in [0, 1]";
  return std::nullopt;
}

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}) : Backoff(policy, fresh_seed()) {}
  Backoff(BackoffPolicy policy, std::uint64_t seed) : policy_(policy), state_(seed | 1U) {}

  /// Counts one more failure and returns how long to wait before the next attempt.
  [[nodiscard]] std::chrono::nanoseconds next() {
    ++failures_;
    const double d = ceiling(failures_);
    const double low = d * (1.0 - policy_.jitter);
    const double delay = low + (d - low) * unit();
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(0.0, delay)));
  }

  /// The delay before jitter after `failures` failures (1-based): initial * multiplier^(n-1),
  /// capped at max. Useful for messages ("retrying in at most ...").
  [[nodiscard]] double ceiling(std::uint32_t failures) const {
    const double initial = static_cast<double>(policy_.initial.count());
    const double cap = static_cast<double>(policy_.max.count());
    const double exponent = failures == 0 ? 0.0 : static_cast<double>(failures - 1);
    // pow overflows to inf for large exponents; min() then gives the cap.
    return std::min(cap, initial * std::pow(policy_.multiplier, exponent));
  }

  /// A success: the next failure waits `initial` again.
  void reset() noexcept { failures_ = 0; }

  [[nodiscard]] std::uint32_t failures() const noexcept { return failures_; }
  [[nodiscard]] const BackoffPolicy& policy() const noexcept { return policy_; }

 private:
  // Distinct seeds without a syscall: a process-wide counter mixed with the clock.
  static std::uint64_t fresh_seed() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    const auto now =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return splitmix(now ^ counter.fetch_add(0x9E3779B97F4A7C15ULL, std::memory_order_relaxed));
  }
  static std::uint64_t splitmix(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  // xorshift64*: uniform in [0, 1).
  double unit() noexcept {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const std::uint64_t r = state_ * 0x2545F4914F6CDD1DULL;
    return static_cast<double>(r >> 11) * 0x1.0p-53;
  }

  BackoffPolicy policy_;
  std::uint64_t state_;
  std::uint32_t failures_ = 0;
};

}  // namespace connpool::core
