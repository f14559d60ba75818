// DeadlineRace on its own (src/core/deadline_race.hpp), on a 4-thread io_context.
//
// Regression test for the hang seen once in core_deadline_race_tests under TSan (issue 14).
// run() used to arm its timer inside the initiation and only then post the operation. The
// initiation lives in the awaiting coroutine's frame; a timer that fired in between resumed the
// waiter on another io thread, which destroyed that frame while the first thread still copied
// the race object and the keepalive out of it: reads of freed memory, and one extra release of
// the keepalive (the pool passes its engine there). The pool's deadlines (timeout + 20 ms)
// opened that window only when a thread was descheduled at the wrong moment; a limit of zero
// makes the timer win at once, so here the window opens on every race.
#include "core/deadline_race.hpp"

#include "support/sanitizer_factor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace connpool::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::detail::DeadlineRace;

struct Tally {
  std::atomic<int> timer_won{0}, op_won{0}, wrong{0}, ops_ended{0};
  int settled() const { return timer_won.load() + op_won.load() + wrong.load(); }
};

// The operation: 1 ms on a strand of its own, then 7.
asio::awaitable<int> slow_seven(Tally& t) {
  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  asio::steady_timer timer(strand, 1ms);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  ++t.ops_ended;
  co_return 7;
}

asio::awaitable<void> one_race(Tally& t, std::shared_ptr<void> keepalive,
                               std::chrono::nanoseconds limit) {
  auto race = std::make_shared<DeadlineRace<int>>(co_await asio::this_coro::executor);
  // Named locals, not temporaries inside the co_await expression (GCC 12, see pool_engine.cpp).
  std::function<int(const std::exception&)> on_exception = [](const std::exception&) { return -1; };
  auto op = slow_seven(t);
  auto outcome =
      co_await race->run(std::move(op), limit, std::move(on_exception), std::move(keepalive));
  if (!outcome) {
    ++t.timer_won;
  } else if (*outcome == 7) {
    ++t.op_won;
  } else {
    ++t.wrong;
  }
}

// Starts `races` races at once and waits until every waiter has resumed, every operation has
// ended and every keepalive has been released.
void run_races(int races, std::chrono::nanoseconds limit, Tally& t,
               const std::shared_ptr<int>& keep) {
  asio::io_context ioc(4);
  auto guard = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ioc.run(); });
  for (int i = 0; i < races; ++i) asio::co_spawn(ioc, one_race(t, keep, limit), asio::detached);

  const auto until = std::chrono::steady_clock::now() + test::scaled(20s);
  while ((t.settled() != races || t.ops_ended.load() != races || keep.use_count() != 1) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  guard.reset();
  ioc.stop();
  for (auto& th : threads) th.join();
}

TEST(DeadlineRace, ATimerThatWinsWhileTheRaceStartsTouchesNothingFreed) {
  constexpr int kRaces = 3000;
  Tally t;
  auto keep = std::make_shared<int>(0);
  run_races(kRaces, 0ns, t, keep);
  EXPECT_EQ(t.settled(), kRaces) << "waiters never resumed";
  EXPECT_EQ(t.wrong.load(), 0);
  EXPECT_GT(t.timer_won.load(), 0);
  // Abandoned, not cancelled: every operation still ran to its end.
  EXPECT_EQ(t.ops_ended.load(), kRaces);
  // Each race took one reference and released it once.
  EXPECT_EQ(keep.use_count(), 1);
}

TEST(DeadlineRace, AnOperationWellInsideItsLimitWinsEveryRace) {
  constexpr int kRaces = 500;
  Tally t;
  auto keep = std::make_shared<int>(0);
  run_races(kRaces, 60s, t, keep);
  EXPECT_EQ(t.op_won.load(), kRaces);
  EXPECT_EQ(t.timer_won.load(), 0);
  EXPECT_EQ(t.wrong.load(), 0);
  EXPECT_EQ(t.ops_ended.load(), kRaces);
  EXPECT_EQ(keep.use_count(), 1);
}

}  // namespace
}  // namespace connpool::testing
