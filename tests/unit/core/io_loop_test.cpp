// run_io_loop: the spinning io loop runs every handler once, on any number of threads, ends when
// the io_context is stopped or out of work, and still sleeps until a later timer fires.
#include "connpool/core/io_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using connpool::core::IoLoopOptions;
using connpool::core::run_io_loop;
using namespace std::chrono_literals;

TEST(IoLoop, WithoutSpinItIsRun) {
  asio::io_context io;
  int ran = 0;
  for (int i = 0; i < 5; ++i) asio::post(io, [&] { ++ran; });
  EXPECT_EQ(run_io_loop(io), 5u);
  EXPECT_EQ(ran, 5);
  EXPECT_TRUE(io.stopped());
}

TEST(IoLoop, SpinningRunsHandlersTheyPostAndEndsOutOfWork) {
  asio::io_context io;
  int ran = 0;
  // Each handler posts the next: the loop must keep going while work appears.
  std::function<void(int)> chain = [&](int left) {
    ++ran;
    if (left > 0) asio::post(io, [&, left] { chain(left - 1); });
  };
  asio::post(io, [&] { chain(99); });
  EXPECT_EQ(run_io_loop(io, IoLoopOptions{1000us}), 100u);
  EXPECT_EQ(ran, 100);
  EXPECT_TRUE(io.stopped());
}

TEST(IoLoop, ATimerLongerThanTheSpinStillFires) {
  asio::io_context io;
  asio::steady_timer timer(io, 30ms);
  bool fired = false;
  timer.async_wait([&](boost::system::error_code ec) { fired = !ec; });
  EXPECT_EQ(run_io_loop(io, IoLoopOptions{100us}), 1u);
  EXPECT_TRUE(fired);
}

TEST(IoLoop, StopEndsALoopThatIsSpinning) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::atomic<int> ran{0};
  // A spin far longer than the test: only stop() can end the loop.
  std::thread runner([&] { run_io_loop(io, IoLoopOptions{std::chrono::hours(1)}); });
  asio::post(io, [&] { ++ran; });
  while (ran.load() == 0) std::this_thread::yield();
  io.stop();
  runner.join();
  EXPECT_EQ(ran.load(), 1);
}

TEST(IoLoop, SeveralSpinningThreadsRunEachHandlerOnce) {
  asio::io_context io(4);
  auto guard = asio::make_work_guard(io);
  constexpr int kHandlers = 20000;
  std::vector<std::atomic<int>> runs(kHandlers);
  std::atomic<std::size_t> counted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] { counted += run_io_loop(io, IoLoopOptions{200us}); });
  for (int i = 0; i < kHandlers; ++i) asio::post(io, [&runs, i] { ++runs[i]; });
  guard.reset();  // out of work once the handlers have run: every thread returns
  for (auto& t : threads) t.join();
  EXPECT_EQ(counted.load(), static_cast<std::size_t>(kHandlers));
  for (int i = 0; i < kHandlers; ++i) ASSERT_EQ(runs[i].load(), 1) << "handler " << i;
}

}  // namespace
