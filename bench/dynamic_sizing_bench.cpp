// Dynamic pool sizing under a burst (issue 7): BURST_S seconds at 200 concurrent callers, then
// TAIL_S seconds at 5, on a core pool whose connector takes a realistic time to connect (10 ms)
// and whose operation holds the lease for a service time (5 ms, an Asio timer: no CPU spent).
// Three pools in one run, one after the other on the same machine:
//   dynamic: min_size 5, max_size 64, sizing reactive (up: 0.75 utilization, +8 per 100 ms;
//            down: 0.5 utilization, -8 per 2 s). The 5 tail callers keep 5 leases out all the
//            time, so the pool settles where 5 / size > 0.5 (8 connections), not at 5.
//   off:     the same pool with the feature off (sizing fixed): min_size 5, growth on demand to
//            64, so the difference to `dynamic` is what dynamic sizing itself does
//   fixed:   min_size = max_size = 64, pre-opened
// Prints the pool size every second and the acquire-wait p50/p99 of each phase.
// Usage: connpool_dynamic_sizing_bench [BURST_S=10] [TAIL_S=30]
#include "connpool/core/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace core = connpool::core;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kConnectTime = 10ms;
constexpr auto kServiceTime = 5ms;

struct SlowConnection {};

// Opening a connection takes kConnectTime (a TCP + TLS + AUTH round trip or so).
struct SlowConnector {
  using connection_type = SlowConnection;
  asio::any_io_executor executor;
  asio::awaitable<connpool::Result<std::unique_ptr<SlowConnection>>> connect() {
    asio::steady_timer t(executor, kConnectTime);
    co_await t.async_wait(asio::use_awaitable);
    co_return std::make_unique<SlowConnection>();
  }
  asio::awaitable<connpool::Result<void>> validate(SlowConnection& /*conn*/) {
    co_return connpool::ok();
  }
  bool recycle(SlowConnection& /*conn*/) noexcept { return true; }
  void close(SlowConnection& /*conn*/) noexcept {}
};
using BenchPool = core::Pool<SlowConnector>;

// Acquire waits of one phase, in microseconds.
struct Waits {
  std::mutex mu;
  std::vector<double> us;
  void add(Clock::duration d) {
    std::lock_guard lock(mu);
    us.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  double quantile(double q) {
    std::lock_guard lock(mu);
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return us.size();
  }
};

// One caller: acquire, hold for the service time, release; until `until`.
asio::awaitable<void> caller(BenchPool& pool, Clock::time_point until, Waits& waits,
                             std::atomic<long>& failures) {
  auto executor = co_await asio::this_coro::executor;
  while (Clock::now() < until) {
    const auto t0 = Clock::now();
    auto lease = co_await pool.acquire();
    if (!lease) {
      ++failures;
      continue;
    }
    waits.add(Clock::now() - t0);
    asio::steady_timer service(executor, kServiceTime);
    co_await service.async_wait(asio::use_awaitable);
  }
}

struct RunResult {
  double burst_p50 = 0, burst_p99 = 0, tail_p50 = 0, tail_p99 = 0;
  std::size_t burst_ops = 0, tail_ops = 0, peak = 0, end_total = 0;
  double back_near_min_s = -1;  // seconds after the burst until total <= 2 x min_size
  long failures = 0;
};

RunResult run(const char* name, core::PoolConfig config, int burst_s, int tail_s) {
  asio::io_context ioc;
  auto created = BenchPool::create(ioc.get_executor(), SlowConnector{ioc.get_executor()}, config);
  if (!created) {
    std::fprintf(stderr, "%s: %s\n", name, created.error().to_string().c_str());
    std::exit(1);
  }
  auto pool = std::make_shared<BenchPool>(std::move(*created));
  auto work = asio::make_work_guard(ioc);
  std::thread io_thread([&] { ioc.run(); });
  while (pool->stats().idle < config.min_size) std::this_thread::sleep_for(10ms);

  Waits burst, tail;
  std::atomic<long> failures{0};
  const auto start = Clock::now();
  const auto burst_end = start + std::chrono::seconds(burst_s);
  const auto tail_end = burst_end + std::chrono::seconds(tail_s);
  std::vector<std::future<void>> done;
  for (int i = 0; i < 200; ++i) {
    done.push_back(
        asio::co_spawn(ioc, caller(*pool, burst_end, burst, failures), asio::use_future));
  }
  for (int i = 0; i < 5; ++i) {
    done.push_back(asio::co_spawn(ioc, caller(*pool, tail_end, tail, failures), asio::use_future));
  }
  // The 5 tail callers run from the start; waits during the burst count as burst waits for
  // them too: they are recorded in `tail` only once the burst is over.
  RunResult r;
  std::printf("%s: t(s) total target in_use waiting\n", name);
  for (int s = 1; s <= burst_s + tail_s; ++s) {
    std::this_thread::sleep_until(start + std::chrono::seconds(s));
    const auto st = pool->stats();
    r.peak = std::max(r.peak, st.total);
    std::printf("%s: %3d %4zu %4zu %4zu %4zu\n", name, s, st.total, st.target_size, st.in_use,
                st.waiting);
    if (s == burst_s) {
      std::lock_guard lock(tail.mu);
      burst.us.insert(burst.us.end(), tail.us.begin(), tail.us.end());
      tail.us.clear();
    }
    if (s > burst_s && r.back_near_min_s < 0 && st.total <= 2 * config.min_size) {
      r.back_near_min_s = s - burst_s;
    }
  }
  for (auto& f : done) f.get();
  r.end_total = pool->stats().total;
  r.burst_p50 = burst.quantile(0.50);
  r.burst_p99 = burst.quantile(0.99);
  r.tail_p50 = tail.quantile(0.50);
  r.tail_p99 = tail.quantile(0.99);
  r.burst_ops = burst.count();
  r.tail_ops = tail.count();
  r.failures = failures.load();
  pool->close_now();
  pool.reset();
  work.reset();
  ioc.stop();
  io_thread.join();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int burst_s = argc > 1 ? std::atoi(argv[1]) : 10;
  const int tail_s = argc > 2 ? std::atoi(argv[2]) : 30;

  core::PoolConfig base;
  base.max_size = 64;
  base.acquire_timeout = 30s;
  base.validate_after_idle = 1h;  // no borrow-time checks: the connector has nothing to check
  base.health_check_interval = 0ms;

  core::PoolConfig dynamic = base;
  dynamic.min_size = 5;
  dynamic.sizing = core::SizingMode::reactive;
  dynamic.dynamic_sizing.scale_up_utilization = 0.75;
  dynamic.dynamic_sizing.scale_up_cooldown = 100ms;
  dynamic.dynamic_sizing.scale_up_step = 8;
  dynamic.dynamic_sizing.scale_down_utilization = 0.5;
  dynamic.dynamic_sizing.scale_down_cooldown = 2s;
  dynamic.dynamic_sizing.scale_down_step = 8;

  core::PoolConfig off = dynamic;
  off.sizing = core::SizingMode::fixed;

  core::PoolConfig fixed = base;
  fixed.min_size = 64;

  std::printf("burst %d s at 200 callers, then %d s at 5; connect %lld ms, service %lld ms\n",
              burst_s, tail_s, static_cast<long long>(kConnectTime.count()),
              static_cast<long long>(kServiceTime.count()));
  const RunResult d = run("dynamic", dynamic, burst_s, tail_s);
  const RunResult o = run("off", off, burst_s, tail_s);
  const RunResult f = run("fixed", fixed, burst_s, tail_s);
  std::printf("\n%-8s %9s %10s %10s %9s %9s %5s %9s %14s %8s\n", "pool", "burst ops", "burst p50",
              "burst p99", "tail p50", "tail p99", "peak", "end size", "<=2xmin after", "failures");
  for (const auto& [name, r] :
       {std::pair{"dynamic", d}, std::pair{"off", o}, std::pair{"fixed", f}}) {
    char near[32] = "never";
    if (r.back_near_min_s >= 0) std::snprintf(near, sizeof near, "%.0f s", r.back_near_min_s);
    std::printf("%-8s %9zu %8.0fus %8.0fus %7.0fus %7.0fus %5zu %9zu %14s %8ld\n", name,
                r.burst_ops, r.burst_p50, r.burst_p99, r.tail_p50, r.tail_p99, r.peak, r.end_total,
                near, r.failures);
  }
  return 0;
}
