// EngineMutex: the engine's lock, a futex mutex (Drepper, "Futexes Are Tricky", mutex 3) with
// the uncontended path inline. Internal to src/core.
//
// Why not std::mutex: the pool takes its lock twice per acquire+release, and an uncontended
// pthread_mutex_lock + unlock pair runs about 80 instructions (type checks, owner and recursion
// bookkeeping) where this one runs a compare-exchange and an exchange. Contended, it behaves
// like std::mutex: a short spin, then the waiter sleeps in the kernel (std::atomic::wait, a
// futex on Linux) until unlock() wakes it. Not recursive, no owner checks: the engine never
// locks twice (engine.hpp, locking discipline). ThreadSanitizer sees the acquire/release atomics
// and so checks the data the lock guards as it would under std::mutex.
#pragma once

#include <atomic>
#include <cstdint>

namespace connpool::core::detail {

class EngineMutex {
 public:
  void lock() noexcept {
    std::uint32_t expected = kFree;
    if (!state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                        std::memory_order_relaxed)) [[unlikely]] {
      lock_contended();
    }
  }
  bool try_lock() noexcept {
    std::uint32_t expected = kFree;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    // kContended: someone may sleep on the futex; wake one (it re-marks the lock contended when
    // it takes it, so a further sleeper is not forgotten).
    if (state_.exchange(kFree, std::memory_order_release) == kContended) [[unlikely]] {
      state_.notify_one();
    }
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kLocked = 1;     // held, nobody sleeping
  static constexpr std::uint32_t kContended = 2;  // held, someone may be sleeping

  void lock_contended() noexcept {
    // The lock is held for a few hundred instructions at most: spin briefly before sleeping.
    for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      std::uint32_t expected = kFree;
      if (state_.load(std::memory_order_relaxed) == kFree &&
          state_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    // Marking it contended before sleeping makes the holder's unlock() wake us.
    while (state_.exchange(kContended, std::memory_order_acquire) != kFree) {
      state_.wait(kContended, std::memory_order_relaxed);
    }
  }

  std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace connpool::core::detail
