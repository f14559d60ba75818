// EngineMutex (src/core/engine_mutex.hpp), the pool engine's futex lock: mutual exclusion under
// contention, including the sleeping path, and try_lock. Meant to run under TSan too (make test
// builds this binary there): TSan then checks that the lock orders the guarded accesses.
#include "core/engine_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace connpool::testing {
namespace {

using core::detail::EngineMutex;

TEST(EngineMutex, ExcludesUnderContention) {
  EngineMutex mu;
  // Plain (non-atomic) data: a lost update or, under TSan, a race report shows a broken lock.
  long counter = 0;
  long in_section = 0;
  bool overlapped = false;
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard lock(mu);
        if (++in_section != 1) overlapped = true;
        ++counter;
        // Now and then hold the lock long enough that the others give up spinning and sleep
        // in the kernel, so unlock() must wake them.
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        --in_section;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, static_cast<long>(kThreads) * kRounds);
  EXPECT_FALSE(overlapped);
}

TEST(EngineMutex, TryLockFailsWhileHeldAndSucceedsAfter) {
  EngineMutex mu;
  ASSERT_TRUE(mu.try_lock());
  std::atomic<bool> other_got_it{true};
  std::thread([&] { other_got_it = mu.try_lock(); }).join();
  EXPECT_FALSE(other_got_it);
  mu.unlock();
  std::thread([&] {
    other_got_it = mu.try_lock();
    if (other_got_it) mu.unlock();
  }).join();
  EXPECT_TRUE(other_got_it);
}

TEST(EngineMutex, SleeperIsWokenByUnlock) {
  EngineMutex mu;
  mu.lock();
  std::atomic<bool> entered{false};
  std::thread waiter([&] {
    std::lock_guard lock(mu);  // spins, then sleeps: the lock is held for 50 ms
    entered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(entered);
  mu.unlock();
  waiter.join();  // hangs (and the test times out) if unlock() did not wake the sleeper
  EXPECT_TRUE(entered);
}

}  // namespace
}  // namespace connpool::testing
