// Pool-core benchmarks. Same binary, same run:
//   (a) uncontended acquire+release
//   (b) 64 concurrent users on a pool of 8 (ours: 64 coroutines on one thread)
//   (c) 2 threads x 32 coroutines on a pool of 8
//   (d) N waiters queued on a pool of 4: per-op cost as N grows to 10 000
// against two references:
//   - like for like: a minimal coroutine pool (deque of idle + FIFO of handlers, one executor,
//     no lock, no features; minimal_coroutine_pool.hpp) under the same drivers as ours, so the
//     gap is what the pool core's features cost;
//   - the blocking design users replace (std::mutex + condition_variable + deque, as in
//     redis-plus-plus), under the loads a blocking pool can take: one thread for (a), 64 OS
//     threads for (b). That one is not like for like: it compares coroutines with threads, and
//     starting the 64 threads is inside its timed region. It shows what moving off threads buys.
// The connection is a plain struct: this measures the pool, not a backend.
#include "connpool/core/pool.hpp"

#include "minimal_coroutine_pool.hpp"
#include "null_connector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using Conn = connpool::bench::NullConnection;
using connpool::bench::NullConnector;

using BenchPool = connpool::core::Pool<NullConnector>;

BenchPool make_pool(asio::io_context& ioc, std::size_t max_size) {
  connpool::core::PoolConfig config;
  config.min_size = max_size;
  config.max_size = max_size;
  config.acquire_timeout = 60s;
  config.validate_after_idle = 1h;  // pure pool overhead: no borrow-time validation
  auto pool = BenchPool::create(ioc.get_executor(), NullConnector{}, config);
  if (!pool) std::abort();
  // Let the warm-up finish so connects are not measured.
  while (pool->stats().idle < max_size) ioc.run_one();
  return std::move(*pool);
}

// The reference: what redis-plus-plus's ConnectionPool does.
class ReferencePool {
 public:
  explicit ReferencePool(std::size_t max_size) : max_size_(max_size) {}
  ~ReferencePool() {
    for (Conn* c : idle_) delete c;
  }
  Conn* acquire() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 60s, [&] { return !idle_.empty() || total_ < max_size_; });
    if (!idle_.empty()) {
      Conn* c = idle_.front();
      idle_.pop_front();
      return c;
    }
    ++total_;
    return new Conn;
  }
  void release(Conn* c) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(c);
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Conn*> idle_;
  std::size_t total_ = 0;
  std::size_t max_size_;
};

// ---- (a) uncontended -----------------------------------------------------------------------

void BM_Uncontended_TryAcquire(benchmark::State& state) {
  asio::io_context ioc;
  auto pool = make_pool(ioc, 8);
  for (auto _ : state) {
    auto lease = pool.try_acquire();
    benchmark::DoNotOptimize(++(*lease)->uses);
  }
}
BENCHMARK(BM_Uncontended_TryAcquire);

void BM_Uncontended_CoroutineAcquire(benchmark::State& state) {
  asio::io_context ioc;
  auto pool = make_pool(ioc, 8);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          auto lease = co_await pool.acquire();
          benchmark::DoNotOptimize(++(*lease)->uses);
        }
        pool.close_now();  // a live pool keeps its io_context busy (housekeeping timer)
      },
      asio::detached);
  ioc.run();
}
BENCHMARK(BM_Uncontended_CoroutineAcquire);

void BM_Uncontended_Reference(benchmark::State& state) {
  ReferencePool pool(8);
  for (auto _ : state) {
    Conn* c = pool.acquire();
    benchmark::DoNotOptimize(++c->uses);
    pool.release(c);
  }
}
BENCHMARK(BM_Uncontended_Reference);

using MinimalPool = connpool::bench::MinimalCoroutinePool<Conn>;

void BM_Uncontended_MinimalCoroutinePool(benchmark::State& state) {
  asio::io_context ioc;
  MinimalPool pool(ioc.get_executor(), 8);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          Conn* c = co_await pool.acquire();
          benchmark::DoNotOptimize(++c->uses);
          pool.release(c);
        }
      },
      asio::detached);
  ioc.run();
}
BENCHMARK(BM_Uncontended_MinimalCoroutinePool);

// ---- (b) / (c) contended -------------------------------------------------------------------

constexpr int kCyclesPerUser = 200;

// Each user: acquire, yield once while holding (so others contend), release.
asio::awaitable<void> user(BenchPool& pool, std::atomic<long>& ops) {
  for (int i = 0; i < kCyclesPerUser; ++i) {
    auto lease = co_await pool.acquire();
    ++(*lease)->uses;
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);
    lease->release();
    ops.fetch_add(1, std::memory_order_relaxed);
  }
}

// The same user on the minimal reference pool.
asio::awaitable<void> minimal_user(MinimalPool& pool, std::atomic<long>& ops) {
  for (int i = 0; i < kCyclesPerUser; ++i) {
    Conn* c = co_await pool.acquire();
    ++c->uses;
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);
    pool.release(c);
    ops.fetch_add(1, std::memory_order_relaxed);
  }
}

void run_coroutines(benchmark::State& state, int threads, int coroutines_per_thread,
                    std::size_t pool_size) {
  asio::io_context ioc(threads);
  auto pool = make_pool(ioc, pool_size);
  std::atomic<long> ops{0};
  const long users = static_cast<long>(threads) * coroutines_per_thread;
  for (auto _ : state) {
    const long target = ops.load() + users * kCyclesPerUser;
    for (long i = 0; i < users; ++i) asio::co_spawn(ioc, user(pool, ops), asio::detached);
    // The pool's housekeeping timer keeps run() from returning: run until the users are done.
    auto drive = [&] {
      while (ops.load(std::memory_order_relaxed) < target) ioc.run_one_for(1ms);
    };
    std::vector<std::thread> runners;
    for (int t = 1; t < threads; ++t) runners.emplace_back(drive);
    drive();
    for (auto& r : runners) r.join();
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops.load()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops.load());
}

void run_reference_threads(benchmark::State& state, int threads, std::size_t pool_size) {
  ReferencePool pool(pool_size);
  long ops = 0;
  for (auto _ : state) {
    std::vector<std::thread> users;
    for (int t = 0; t < threads; ++t) {
      users.emplace_back([&] {
        for (int i = 0; i < kCyclesPerUser; ++i) {
          Conn* c = pool.acquire();
          ++c->uses;
          std::this_thread::yield();
          pool.release(c);
        }
      });
    }
    for (auto& u : users) u.join();
    ops += static_cast<long>(threads) * kCyclesPerUser;
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops);
}

void BM_B_64Coroutines_Pool8(benchmark::State& state) {
  run_coroutines(state, 1, 64, 8);
}
BENCHMARK(BM_B_64Coroutines_Pool8)->UseRealTime()->Unit(benchmark::kMillisecond);

// Like for like with BM_B_64Coroutines_Pool8: same users, same thread, the minimal pool.
void BM_B_MinimalCoroutinePool_64Coroutines_Pool8(benchmark::State& state) {
  asio::io_context ioc(1);
  // The pool core's housekeeping timer keeps its io_context from running out of work between
  // rounds; a work guard does the same here, so run_one_for() never finds it stopped.
  auto guard = asio::make_work_guard(ioc);
  MinimalPool pool(ioc.get_executor(), 8);
  std::atomic<long> ops{0};
  for (auto _ : state) {
    const long target = ops.load() + 64L * kCyclesPerUser;
    for (int i = 0; i < 64; ++i) asio::co_spawn(ioc, minimal_user(pool, ops), asio::detached);
    // The same driving loop as run_coroutines(), so only the pool differs.
    while (ops.load(std::memory_order_relaxed) < target) ioc.run_one_for(1ms);
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops.load()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops.load());
}
BENCHMARK(BM_B_MinimalCoroutinePool_64Coroutines_Pool8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Not like for like: 64 OS threads (started inside the timed region) on a mutex+condvar pool.
void BM_B_MutexCondvar_64OSThreads_IncludingThreadStart_Pool8(benchmark::State& state) {
  run_reference_threads(state, 64, 8);
}
BENCHMARK(BM_B_MutexCondvar_64OSThreads_IncludingThreadStart_Pool8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_C_2Threads_32Coroutines_Pool8(benchmark::State& state) {
  run_coroutines(state, 2, 32, 8);
}
BENCHMARK(BM_C_2Threads_32Coroutines_Pool8)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- (d) deep wait queue -------------------------------------------------------------------

// N users each do one acquire/yield/release on a pool of 4: almost all of them queue.
void BM_D_Waiters_Pool4(benchmark::State& state) {
  const auto waiters = static_cast<int>(state.range(0));
  asio::io_context ioc;
  auto pool = make_pool(ioc, 4);
  long ops = 0;
  long done = 0;
  for (auto _ : state) {
    for (int i = 0; i < waiters; ++i) {
      asio::co_spawn(
          ioc,
          [&pool, &done]() -> asio::awaitable<void> {
            auto lease = co_await pool.acquire();
            auto ex = co_await asio::this_coro::executor;
            co_await asio::post(ex, asio::use_awaitable);
            ++done;
          },
          asio::detached);
    }
    ops += waiters;
    while (done < ops) ioc.run_one();
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops);
}
BENCHMARK(BM_D_Waiters_Pool4)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_D_MinimalCoroutinePool_Waiters_Pool4(benchmark::State& state) {
  const auto waiters = static_cast<int>(state.range(0));
  asio::io_context ioc;
  MinimalPool pool(ioc.get_executor(), 4);
  long ops = 0;
  for (auto _ : state) {
    for (int i = 0; i < waiters; ++i) {
      asio::co_spawn(
          ioc,
          [&pool]() -> asio::awaitable<void> {
            Conn* c = co_await pool.acquire();
            auto ex = co_await asio::this_coro::executor;
            co_await asio::post(ex, asio::use_awaitable);
            pool.release(c);
          },
          asio::detached);
    }
    ops += waiters;
    ioc.run();
    ioc.restart();
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops);
}
BENCHMARK(BM_D_MinimalCoroutinePool_Waiters_Pool4)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
