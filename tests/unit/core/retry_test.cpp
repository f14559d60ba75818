#include "connpool/core/retry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

using connpool::errc;
using connpool::Error;
using connpool::Result;
using connpool::core::Backoff;
using connpool::core::BackoffPolicy;
using connpool::core::ManualClock;
using connpool::core::RetryBudget;
using connpool::core::RetryLimits;
using namespace std::chrono_literals;

namespace {

Backoff fixed_backoff() {
  return Backoff(BackoffPolicy{.initial = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.0}, 3);
}

// Drives core::retry with a ManualClock: the injected sleep records each wait and moves time.
struct Harness {
  ManualClock clock;
  std::vector<std::chrono::nanoseconds> waits;
  int calls = 0;

  template <class Op>
  Result<int> run(RetryBudget& budget, Op op) {
    boost::asio::io_context io;
    auto sleep = [this](std::chrono::nanoseconds d) -> boost::asio::awaitable<void> {
      waits.push_back(d);
      clock.advance(std::chrono::duration_cast<ManualClock::duration>(d));
      co_return;
    };
    auto wrapped = [this, op]() -> boost::asio::awaitable<Result<int>> {
      ++calls;
      co_return op(calls);
    };
    auto retryable = [](const Error& e) { return e.is(errc::unavailable); };
    auto f = boost::asio::co_spawn(
        io, connpool::core::retry<int>(budget, clock, wrapped, retryable, sleep),
        boost::asio::use_future);
    io.run();
    return f.get();
  }
};

}  // namespace

TEST(RetryBudget, GrantsBackoffWaitsUpToMaxAttempts) {
  ManualClock clock;
  RetryBudget b(fixed_backoff(), RetryLimits{.max_attempts = 4});
  EXPECT_EQ(b.next_wait(clock.now()), 100ms);
  EXPECT_EQ(b.next_wait(clock.now()), 200ms);
  EXPECT_EQ(b.next_wait(clock.now()), 400ms);
  EXPECT_EQ(b.next_wait(clock.now()), std::nullopt);
  EXPECT_EQ(b.attempts(), 4U);
  EXPECT_EQ(b.retries(), 3U);
}

TEST(RetryBudget, OneAttemptOrZeroNeverRetries) {
  ManualClock clock;
  RetryBudget one(fixed_backoff(), RetryLimits{.max_attempts = 1});
  EXPECT_EQ(one.next_wait(clock.now()), std::nullopt);
  RetryBudget zero(fixed_backoff(), RetryLimits{.max_attempts = 0});
  EXPECT_EQ(zero.next_wait(clock.now()), std::nullopt);
  EXPECT_EQ(zero.attempts(), 1U);
}

TEST(RetryBudget, RefusesAWaitThatWouldReachTheDeadlineWithoutCountingIt) {
  ManualClock clock;
  const auto start = clock.now();
  RetryBudget b(fixed_backoff(), RetryLimits{.max_attempts = 10, .deadline = start + 250ms});
  EXPECT_EQ(b.next_wait(start), 100ms);
  // 200 ms from 100 ms in ends at 300 ms: past the deadline.
  EXPECT_EQ(b.next_wait(start + 100ms), std::nullopt);
  EXPECT_EQ(b.attempts(), 2U);
  // The refusal did not advance the backoff: asked earlier, the next wait is still 200 ms.
  EXPECT_EQ(b.next_wait(start + 10ms), 200ms);
  EXPECT_EQ(b.attempts(), 3U);
  EXPECT_EQ(b.next_wait(start + 250ms), std::nullopt);  // at the deadline: never
}

TEST(Retry, SucceedsAfterRetryableFailuresWaitingTheBackoff) {
  Harness h;
  RetryBudget budget(fixed_backoff(), RetryLimits{.max_attempts = 5});
  auto r = h.run(budget, [](int call) -> Result<int> {
    if (call < 3) return Error(errc::unavailable, "down");
    return 42;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(h.calls, 3);
  EXPECT_EQ(h.waits, (std::vector<std::chrono::nanoseconds>{100ms, 200ms}));
}

TEST(Retry, StopsAtOnceOnANonRetryableError) {
  Harness h;
  RetryBudget budget(fixed_backoff(), RetryLimits{.max_attempts = 5});
  auto r = h.run(budget, [](int) -> Result<int> { return Error(errc::not_found, "no doc"); });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::not_found));
  EXPECT_EQ(r.error().message(), "no doc");  // one attempt: no "after N attempts"
  EXPECT_EQ(h.calls, 1);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, GivesUpAfterMaxAttemptsNamingTheCount) {
  Harness h;
  RetryBudget budget(fixed_backoff(), RetryLimits{.max_attempts = 3});
  auto r = h.run(budget, [](int) -> Result<int> { return Error(errc::unavailable, "down"); });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::unavailable));
  EXPECT_NE(r.error().to_string().find("after 3 attempts"), std::string::npos)
      << r.error().to_string();
  EXPECT_EQ(h.calls, 3);
  EXPECT_EQ(h.waits.size(), 2U);
}

TEST(Retry, GivesUpWhenTheNextWaitWouldPassTheDeadline) {
  Harness h;
  RetryBudget budget(fixed_backoff(),
                     RetryLimits{.max_attempts = 100, .deadline = h.clock.now() + 1s});
  auto r = h.run(budget, [](int) -> Result<int> { return Error(errc::unavailable, "down"); });
  ASSERT_FALSE(r);
  // Waits 100 + 200 + 400 = 700 ms; the next (800 ms) would end past the 1 s deadline.
  EXPECT_EQ(h.calls, 4);
  EXPECT_EQ(h.waits, (std::vector<std::chrono::nanoseconds>{100ms, 200ms, 400ms}));
}

TEST(Retry, DefaultSleepWaitsOnTheExecutor) {
  boost::asio::io_context io;
  RetryBudget budget(
      Backoff(BackoffPolicy{.initial = 1ms, .max = 1ms, .multiplier = 1.0, .jitter = 0.0}, 1),
      RetryLimits{.max_attempts = 3});
  int calls = 0;
  auto op = [&calls]() -> boost::asio::awaitable<Result<int>> {
    if (++calls < 3) co_return Error(errc::unavailable, "down");
    co_return 7;
  };
  auto f = boost::asio::co_spawn(
      io, connpool::core::retry<int>(budget, op, [](const Error&) { return true; }),
      boost::asio::use_future);
  io.run();
  auto r = f.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(calls, 3);
}
