// The one retry loop of connpool: a budget (attempts and a deadline) that hands out the waits of
// the shared Backoff, and a coroutine that runs an operation again on a retryable failure. The
// Firestore calls (unary RPCs, transactions) and the Cluster client's TRYAGAIN / CLUSTERDOWN /
// unreachable-node retries count their attempts here, so "when do we give up" has one answer.
//
// Thread safety: none. Each retried operation owns its RetryBudget.
#pragma once

#include "connpool/core/backoff.hpp"
#include "connpool/core/clock.hpp"
#include "connpool/core/result.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace connpool::core {

struct RetryLimits {
  /// Attempts in all, the first included; 1 means never retry. 0 is treated as 1.
  std::size_t max_attempts = 1;
  /// No retry is granted whose wait would end at or after this point. max() means none.
  Clock::time_point deadline = Clock::time_point::max();
};

/// Counts the attempts of one operation and, after each failure, says whether another attempt
/// is allowed and how long to wait before it. I/O-free: the caller passes the time.
class RetryBudget {
 public:
  RetryBudget(Backoff backoff, RetryLimits limits)
      : backoff_(std::move(backoff)), limits_(limits) {}

  /// The attempt that just failed may be retried: the wait before the next one, or nullopt
  /// when the attempts or the deadline are spent (nothing is counted then).
  [[nodiscard]] std::optional<std::chrono::nanoseconds> next_wait(Clock::time_point now) {
    if (attempts_ >= limits_.max_attempts) return std::nullopt;
    // A probe copy: a refused retry must not advance the backoff.
    Backoff probe = backoff_;
    const auto wait = probe.next();
    if (limits_.deadline != Clock::time_point::max() &&
        (now >= limits_.deadline || wait >= limits_.deadline - now)) {
      return std::nullopt;
    }
    backoff_ = probe;
    ++attempts_;
    return wait;
  }

  /// Attempts started so far: 1 + the retries granted.
  [[nodiscard]] std::size_t attempts() const noexcept { return attempts_; }
  [[nodiscard]] std::size_t retries() const noexcept { return attempts_ - 1; }
  [[nodiscard]] const RetryLimits& limits() const noexcept { return limits_; }

 private:
  Backoff backoff_;
  RetryLimits limits_;
  std::size_t attempts_ = 1;
};

/// Waits `d` on the current coroutine's executor. A cancelled wait returns early; the retry loop
/// then makes its next attempt, which sees the cancellation itself.
inline boost::asio::awaitable<void> sleep_for(std::chrono::nanoseconds d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

/// Runs `op()` (an awaitable Result<T>) until it succeeds, fails with an error for which
/// `retryable(const Error&)` is false, or `budget` refuses another attempt; between attempts it
/// awaits `sleep(wait)`. A failure after more than one attempt says how many were made.
/// `clock` and `sleep` are parameters so tests drive the loop with a ManualClock.
template <class T, class Op, class Retryable, class Sleep>
boost::asio::awaitable<Result<T>> retry(RetryBudget& budget, const Clock& clock, Op op,
                                        Retryable retryable, Sleep sleep) {
  for (;;) {
    Result<T> r = co_await op();
    if (r) co_return r;
    std::optional<std::chrono::nanoseconds> wait;
    if (retryable(r.error())) wait = budget.next_wait(clock.now());
    if (!wait) {
      if (budget.attempts() > 1) {
        co_return r.error().with_context("after " + std::to_string(budget.attempts()) +
                                         " attempts");
      }
      co_return r;
    }
    co_await sleep(*wait);
  }
}

/// retry() on the steady clock, sleeping on the current executor.
template <class T, class Op, class Retryable>
boost::asio::awaitable<Result<T>> retry(RetryBudget& budget, Op op, Retryable retryable) {
  static const SteadyClock kSteady;
  return retry<T>(budget, kSteady, std::move(op), std::move(retryable),
                  [](std::chrono::nanoseconds d) { return sleep_for(d); });
}

}  // namespace connpool::core
