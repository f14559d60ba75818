// Shared fixture for pool-core tests: an io_context driven by hand, a ManualClock, a scripted
// connector and a recording observer.
#pragma once

#include "connpool/core/clock.hpp"
#include "connpool/core/pool.hpp"

#include "fake_connector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

namespace connpool::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using TestPool = core::Pool<FakeConnector>;
using TestLease = TestPool::lease_type;
using AcquireSlot = std::shared_ptr<std::optional<Result<TestLease>>>;

class PoolTest : public ::testing::Test {
 public:
  static core::PoolConfig quiet_config();

 protected:
  asio::io_context ioc;
  std::shared_ptr<core::ManualClock> clock = std::make_shared<core::ManualClock>();
  std::shared_ptr<Script> script = std::make_shared<Script>();
  std::shared_ptr<RecordingObserver> observer = std::make_shared<RecordingObserver>();

  static core::PoolConfig quiet_config_impl() {
    core::PoolConfig c;
    c.min_size = 0;
    c.max_size = 4;
    c.acquire_timeout = 250ms;
    c.connect_timeout = 1000ms;
    c.validation_timeout = 1000ms;
    c.max_idle_time = 0ms;
    c.max_lifetime = 0ms;
    c.health_check_interval = 0ms;
    c.validate_after_idle = 1h;
    c.reconnect_backoff_initial = 0ms;
    c.reconnect_backoff_jitter = 0.0;
    return c;
  }

  TestPool make_pool(core::PoolConfig config) {
    core::PoolOptions options;
    options.name = "test";
    options.backend = "fake";
    options.clock = clock;
    options.observer = observer;
    options.seed = 42;
    options.logger = [](core::LogLevel, std::string_view) {};
    auto pool = TestPool::create(ioc.get_executor(), FakeConnector(script), config, options);
    if (!pool) ADD_FAILURE() << pool.error().to_string();
    return std::move(*pool);
  }

  /// Starts an acquire on the io_context; the slot fills when it completes.
  AcquireSlot spawn_acquire(TestPool& pool, std::optional<std::chrono::milliseconds> timeout = {}) {
    return connpool::test::spawn_acquire(ioc, pool, timeout);
  }

  /// Acquires and waits (bounded) for the result.
  TestLease acquire_now(TestPool& pool) {
    auto slot = spawn_acquire(pool);
    EXPECT_TRUE(run_until(ioc, [&] { return slot->has_value(); }));
    if (!slot->has_value() || !**slot) {
      ADD_FAILURE() << "acquire failed: "
                    << (slot->has_value() ? (*slot)->error().to_string() : "no result");
      return {};
    }
    return std::move(**slot).value();
  }

  void expect_invariants(const TestPool& pool) {
    EXPECT_EQ(pool.check_invariants(), "") << "pool invariants broken";
  }
};

/// A pool that does nothing by itself: no eviction, lifetime, health checks or backoff, unless
/// a test turns them on.
inline core::PoolConfig PoolTest::quiet_config() {
  return quiet_config_impl();
}

}  // namespace connpool::testing
