// Several threads running the io_context, many coroutines doing random acquire / release /
// discard / timeout / cancel, with short real lifetimes and health checks. Run under TSan by
// `make test` (test-core-tsan). Bounded in count and time.
#include "pool_fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <random>
#include <thread>

namespace connpool::testing {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

struct StressCounters {
  std::atomic<int> attempts{0};
  std::atomic<int> outcomes{0};  // every attempt ends exactly once: in a lease or an error
  std::atomic<int> leased_now{0};
  std::atomic<int> max_leased{0};
  std::atomic<int> ok{0}, timeouts{0}, cancelled{0}, other_errors{0};
  std::atomic<int> workers_done{0};
};

asio::awaitable<void> worker(TestPool& pool, StressCounters& c, unsigned seed, int iterations,
                             int max_leases) {
  std::mt19937 rng(seed);
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer hold(ex);
  for (int i = 0; i < iterations; ++i) {
    ++c.attempts;
    const int mode = static_cast<int>(rng() % 10);
    std::optional<Result<TestLease>> got;
    if (mode == 0) {
      // Cancellation through awaitable operators: a short race against a timer.
      asio::steady_timer race(ex, std::chrono::microseconds(rng() % 500));
      auto r = co_await (pool.acquire() || race.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 0) {
        got.emplace(std::move(std::get<0>(r)));
      } else {
        ++c.outcomes;
        ++c.cancelled;
        continue;
      }
    } else {
      got.emplace(co_await pool.acquire(std::chrono::milliseconds(1 + rng() % 20)));
    }
    ++c.outcomes;
    if (!*got) {
      ++(got->error().code() == errc::acquire_timeout ? c.timeouts : c.other_errors);
      continue;
    }
    ++c.ok;
    TestLease lease = std::move(*got).value();
    const int now_leased = ++c.leased_now;
    int seen = c.max_leased.load();
    while (now_leased > seen && !c.max_leased.compare_exchange_weak(seen, now_leased)) {
    }
    EXPECT_LE(now_leased, max_leases);
    hold.expires_after(std::chrono::microseconds(rng() % 300));
    co_await hold.async_wait(asio::as_tuple(asio::use_awaitable));
    --c.leased_now;
    switch (rng() % 8) {
      case 0:
        lease.discard();
        break;
      case 1:
        lease->broken = true;
        break;  // recycle() refuses it
      default:
        lease.release();
        break;
    }
  }
  ++c.workers_done;
}

void stress(std::size_t leases_per_connection) {
  asio::io_context ioc(4);
  auto script = std::make_shared<Script>();
  script->slow_delay = std::chrono::milliseconds(1);
  {
    // Every 7th connect fails, every 5th is slow; some validations fail.
    std::lock_guard lock(script->mu);
    for (int i = 0; i < 4000; ++i) {
      script->connects.push_back(i % 7 == 3 ? Step::fail : i % 5 == 0 ? Step::slow : Step::ok);
      script->validations.push_back(i % 9 == 4 ? Step::fail : Step::ok);
    }
  }
  core::PoolConfig config;
  config.min_size = 2;
  config.max_size = 8;
  config.max_leases_per_connection = leases_per_connection;
  config.acquire_timeout = std::chrono::milliseconds(20);
  config.connect_timeout = std::chrono::milliseconds(200);
  config.validation_timeout = std::chrono::milliseconds(200);
  config.max_idle_time = std::chrono::milliseconds(30);
  config.max_lifetime = std::chrono::milliseconds(80);
  config.health_check_interval = std::chrono::milliseconds(10);
  config.validate_after_idle = std::chrono::milliseconds(2);
  config.reconnect_backoff_initial = std::chrono::milliseconds(1);
  config.reconnect_backoff_max = std::chrono::milliseconds(5);
  core::PoolOptions options;
  options.name = "stress";
  options.logger = [](core::LogLevel, std::string_view) {};
  auto created = TestPool::create(ioc.get_executor(), FakeConnector(script), config, options);
  ASSERT_TRUE(created);
  TestPool pool = std::move(*created);

  StressCounters c;
  constexpr int kWorkers = 48;
  constexpr int kIterations = 150;
  const int max_leases = static_cast<int>(config.max_size * leases_per_connection);
  for (int w = 0; w < kWorkers; ++w) {
    // Each worker on its own strand: Asio's rule for coroutines that use per-operation
    // cancellation (here `||`) on an io_context run by several threads.
    asio::co_spawn(asio::make_strand(ioc),
                   worker(pool, c, 1000u + static_cast<unsigned>(w), kIterations, max_leases),
                   asio::detached);
  }
  auto guard = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { ioc.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (c.workers_done < kWorkers && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(pool.check_invariants(), "");
    EXPECT_LE(script->open.load(), static_cast<int>(config.max_size));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(c.workers_done, kWorkers) << "workers did not finish in time";
  EXPECT_EQ(c.attempts, c.outcomes);  // every acquire completed exactly once
  EXPECT_GT(c.ok, 0);
  EXPECT_LE(script->max_open.load(), static_cast<int>(config.max_size));
  EXPECT_EQ(pool.check_invariants(), "");
  auto s = pool.stats();
  EXPECT_EQ(s.leases, 0u);
  EXPECT_EQ(s.waiting, 0u);
  pool.close_blocking(std::chrono::seconds(5));
  guard.reset();
  for (auto& t : threads) t.join();
  EXPECT_EQ(script->open, 0) << "connections left open after close";
  std::printf("stress(limit=%zu): ok=%d timeouts=%d cancelled=%d other=%d created=%llu\n",
              leases_per_connection, c.ok.load(), c.timeouts.load(), c.cancelled.load(),
              c.other_errors.load(), static_cast<unsigned long long>(s.created));
}

TEST(PoolStress, ExclusiveLeasesUnderFourThreads) {
  stress(1);
}
TEST(PoolStress, SharedLeasesUnderFourThreads) {
  stress(3);
}

}  // namespace
}  // namespace connpool::testing
