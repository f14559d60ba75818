// What the Prometheus observer costs on a pool's hot path. Same pool, same load, three observers:
//   none        PoolOptions::observer left null (the core skips every event)
//   noop        a PoolObserver with the default empty methods (the virtual calls alone)
//   prometheus  connpool::monitor::PrometheusObserver (atomic counters + latency histograms)
// Loads: (a) uncontended try_acquire/release, (b) uncontended co_await acquire/release,
// (c) 2 threads x 25 coroutines (concurrency 50) on a pool of 10, each holding its lease across
// a yield so the others queue. The connection is a plain struct: this is the pool alone, the
// worst case for relative overhead (any real backend round trip dwarfs it).
// Also: (d) a /metrics scrape of 10 pools, so the cost of a scrape is on record.
#include "connpool/core/pool.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include "null_connector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using Conn = connpool::bench::NullConnection;
using connpool::bench::NullConnector;

using BenchPool = connpool::core::Pool<NullConnector>;

enum class Kind { none, noop, prometheus };

std::shared_ptr<connpool::core::PoolObserver> observer_for(
    Kind kind, connpool::monitor::MetricsRegistry& metrics) {
  switch (kind) {
    case Kind::none:
      return nullptr;
    case Kind::noop:
      return std::make_shared<connpool::core::PoolObserver>();
    case Kind::prometheus:
      return metrics.make_observer("bench", "fake");
  }
  return nullptr;
}

BenchPool make_pool(asio::io_context& ioc, std::size_t size, Kind kind,
                    connpool::monitor::MetricsRegistry& metrics) {
  connpool::core::PoolConfig config;
  config.min_size = size;
  config.max_size = size;
  config.acquire_timeout = 60s;
  config.validate_after_idle = 1h;  // pure pool overhead: no borrow-time validation
  config.health_check_interval = 0ms;
  connpool::core::PoolOptions options;
  options.name = "bench";
  options.backend = "fake";
  options.observer = observer_for(kind, metrics);
  options.logger = [](connpool::core::LogLevel, std::string_view) {};
  auto pool = BenchPool::create(ioc.get_executor(), NullConnector{}, config, options);
  if (!pool) std::abort();
  while (pool->stats().idle < size) ioc.run_one();  // connects are not measured
  return std::move(*pool);
}

// ---- (a) uncontended try_acquire ------------------------------------------------------------
void BM_TryAcquire(benchmark::State& state, Kind kind) {
  connpool::monitor::MetricsRegistry metrics;
  asio::io_context ioc;
  auto pool = make_pool(ioc, 8, kind, metrics);
  for (auto _ : state) {
    auto lease = pool.try_acquire();
    benchmark::DoNotOptimize(++(*lease)->uses);
  }
}
BENCHMARK_CAPTURE(BM_TryAcquire, none, Kind::none);
BENCHMARK_CAPTURE(BM_TryAcquire, noop, Kind::noop);
BENCHMARK_CAPTURE(BM_TryAcquire, prometheus, Kind::prometheus);

// ---- (b) uncontended coroutine acquire ------------------------------------------------------
void BM_CoroutineAcquire(benchmark::State& state, Kind kind) {
  connpool::monitor::MetricsRegistry metrics;
  asio::io_context ioc;
  auto pool = make_pool(ioc, 8, kind, metrics);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          auto lease = co_await pool.acquire();
          benchmark::DoNotOptimize(++(*lease)->uses);
        }
        pool.close_now();  // stops the maintenance timer so run() returns
      },
      asio::detached);
  ioc.run();
}
BENCHMARK_CAPTURE(BM_CoroutineAcquire, none, Kind::none);
BENCHMARK_CAPTURE(BM_CoroutineAcquire, noop, Kind::noop);
BENCHMARK_CAPTURE(BM_CoroutineAcquire, prometheus, Kind::prometheus);

// ---- (c) concurrency 50 ---------------------------------------------------------------------
constexpr int kCyclesPerUser = 200;

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

void BM_Concurrency50(benchmark::State& state, Kind kind) {
  constexpr int kThreads = 2;
  constexpr int kUsers = 50;
  connpool::monitor::MetricsRegistry metrics;
  asio::io_context ioc(kThreads);
  auto pool = make_pool(ioc, 10, kind, metrics);
  std::atomic<long> ops{0};
  for (auto _ : state) {
    // The pool's maintenance timer keeps the io_context busy, so each round waits for its users
    // by count, not for run() to run out of work.
    std::atomic<int> done{0};
    for (int i = 0; i < kUsers; ++i) {
      asio::co_spawn(ioc, user(pool, ops), [&done, &ioc](std::exception_ptr) {
        if (done.fetch_add(1) + 1 == kUsers) ioc.stop();
      });
    }
    std::vector<std::thread> runners;
    for (int t = 1; t < kThreads; ++t) runners.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& r : runners) r.join();
    ioc.restart();
  }
  pool.close_now();
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(ops.load()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(ops.load());
}
BENCHMARK_CAPTURE(BM_Concurrency50, none, Kind::none)->UseRealTime();
BENCHMARK_CAPTURE(BM_Concurrency50, noop, Kind::noop)->UseRealTime();
BENCHMARK_CAPTURE(BM_Concurrency50, prometheus, Kind::prometheus)->UseRealTime();

// ---- (e) the observer alone: the two events of one acquire/release cycle ------------------
// Isolates what PrometheusObserver adds per cycle from the pool's own cost (and from the noise
// of a shared machine). With 2 threads both hit the same pool's atomics: the contended case.
void BM_ObserverCycle(benchmark::State& state) {
  static connpool::monitor::MetricsRegistry metrics;
  static auto observer = metrics.make_observer("cycle", "fake");
  std::int64_t i = state.thread_index();
  for (auto _ : state) {
    observer->on_acquired(std::chrono::nanoseconds(i & 0xffff));
    observer->on_released(std::chrono::nanoseconds((i * 37) & 0xfffff));
    ++i;
  }
}
BENCHMARK(BM_ObserverCycle)->Threads(1)->Threads(2);

// ---- (d) one scrape of 10 pools -------------------------------------------------------------
void BM_Scrape10Pools(benchmark::State& state) {
  auto pools = std::make_shared<connpool::monitor::PoolRegistry>();
  connpool::monitor::MetricsRegistry metrics(pools);
  for (int i = 0; i < 10; ++i) {
    const std::string name = "pool" + std::to_string(i);
    auto o = metrics.make_observer(name, "redis");
    for (int k = 0; k < 1000; ++k) {
      o->on_acquired(std::chrono::microseconds(k));
      o->on_released(std::chrono::microseconds(k * 10));
    }
    connpool::monitor::PoolSource s;
    s.name = name;
    s.backend = "redis";
    s.stats = [] { return connpool::core::PoolStats{}; };
    (void)pools->add(std::move(s));
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = metrics.scrape();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape10Pools);

}  // namespace

BENCHMARK_MAIN();
