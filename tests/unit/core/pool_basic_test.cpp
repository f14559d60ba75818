// Leases, warm-up, FIFO waiters, close and stats.
#include "pool_fixture.hpp"

#include <thread>

namespace connpool::testing {
namespace {

TEST_F(PoolTest, CreateRejectsInvalidConfigNamingTheField) {
  auto config = quiet_config();
  config.min_size = 30;
  config.max_size = 20;
  auto pool = TestPool::create(ioc.get_executor(), FakeConnector(script), config);
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code(), errc::invalid_config);
  EXPECT_EQ(pool.error().message(), "min_size (30) > max_size (20)");
}

TEST_F(PoolTest, WarmsUpToMinSize) {
  auto config = quiet_config();
  config.min_size = 3;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 3; }));
  auto s = pool.stats();
  EXPECT_EQ(s.total, 3u);
  EXPECT_EQ(s.created, 3u);
  EXPECT_EQ(script->open, 3);
  expect_invariants(pool);
}

TEST_F(PoolTest, LeaseReturnsConnectionOnDestructionAndIsReused) {
  auto pool = make_pool(quiet_config());
  int first_id = 0;
  {
    auto lease = acquire_now(pool);
    ASSERT_TRUE(lease);
    first_id = lease->id;
    EXPECT_EQ(pool.stats().in_use, 1u);
    expect_invariants(pool);
  }
  EXPECT_EQ(pool.stats().idle, 1u);
  EXPECT_EQ(pool.stats().in_use, 0u);
  auto again = acquire_now(pool);
  EXPECT_EQ(again->id, first_id);
  EXPECT_EQ(script->connect_calls, 1);
  EXPECT_EQ(pool.stats().acquires, 2u);
  expect_invariants(pool);
}

TEST_F(PoolTest, DiscardClosesAndReplacesToMinSize) {
  auto config = quiet_config();
  config.min_size = 1;
  auto pool = make_pool(config);
  auto lease = acquire_now(pool);
  const int id = lease->id;
  lease.discard();
  EXPECT_FALSE(lease);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  auto s = pool.stats();
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 1u);
  EXPECT_EQ(s.created, 2u);
  auto next = acquire_now(pool);
  EXPECT_NE(next->id, id);
  expect_invariants(pool);
}

TEST_F(PoolTest, BrokenConnectionIsNeverReturnedToIdle) {
  auto pool = make_pool(quiet_config());
  {
    auto lease = acquire_now(pool);
    lease->broken = true;  // recycle() will say no
  }
  auto s = pool.stats();
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.total, 0u);
  EXPECT_EQ(s.closed_count(core::CloseReason::broken), 1u);
  EXPECT_EQ(script->open, 0);
}

TEST_F(PoolTest, DetachTakesConnectionOutOfThePool) {
  auto pool = make_pool(quiet_config());
  auto lease = acquire_now(pool);
  std::unique_ptr<FakeConnection> mine = lease.detach();
  ASSERT_TRUE(mine);
  EXPECT_FALSE(lease);
  auto s = pool.stats();
  EXPECT_EQ(s.total, 0u);
  EXPECT_EQ(s.leases, 0u);
  EXPECT_EQ(s.closed_count(core::CloseReason::detached), 1u);
  EXPECT_EQ(script->open, 1);  // still open: it is ours now
  expect_invariants(pool);
}

TEST_F(PoolTest, LeaseMayOutliveThePoolObject) {
  std::optional<TestLease> kept;
  {
    auto pool = make_pool(quiet_config());
    kept.emplace(acquire_now(pool));
  }  // ~Pool closes without waiting
  ASSERT_TRUE(*kept);
  EXPECT_EQ((*kept)->id, 1);
  EXPECT_EQ(script->open, 1);
  kept.reset();  // returned to a closed pool: closed
  EXPECT_EQ(script->open, 0);
  drain(ioc);
}

// A lease holds a raw pointer to the engine (lease.hpp): returned on another thread while its
// Pool is destroyed, in either order, the engine must outlive what the return does after
// unlocking (the observer call, closing the connection). ASan and TSan catch a use after free.
TEST_F(PoolTest, LeaseReturnedOnAnotherThreadWhileThePoolIsDestroyed) {
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    std::optional<TestPool> pool(make_pool(quiet_config()));
    auto lease = acquire_now(*pool);
    ASSERT_TRUE(lease);
    std::thread releaser([&lease] { lease.release(); });
    pool.reset();  // closes without waiting; races with the release
    releaser.join();
  }
  EXPECT_EQ(observer->released.load(), kRounds);
  drain(ioc);
  EXPECT_EQ(script->open, 0);
}

TEST_F(PoolTest, WaitersAreServedInArrivalOrder) {
  auto config = quiet_config();
  config.max_size = 1;
  config.acquire_timeout = 10s;
  auto pool = make_pool(config);
  auto holder = acquire_now(pool);
  std::vector<int> order;
  std::vector<AcquireSlot> slots;
  for (int i = 0; i < 5; ++i) {
    slots.push_back(spawn_acquire(pool));
    drain(ioc);  // each one queues before the next starts
  }
  EXPECT_EQ(pool.stats().waiting, 5u);
  expect_invariants(pool);
  holder.release();
  for (int served = 0; served < 5; ++served) {
    ASSERT_TRUE(run_until(ioc, [&] {
      for (auto& s : slots) {
        if (s->has_value() && **s && (**s).value()) return true;
      }
      return false;
    }));
    for (std::size_t i = 0; i < slots.size(); ++i) {
      auto& s = slots[i];
      if (s->has_value() && **s && (**s).value()) {
        order.push_back(static_cast<int>(i));
        (**s).value().release();  // hand it on to the next waiter
      }
    }
    expect_invariants(pool);
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(pool.stats().waiting, 0u);
}

TEST_F(PoolTest, TryAcquireNeverWaits) {
  auto config = quiet_config();
  config.max_size = 1;
  auto pool = make_pool(config);
  EXPECT_FALSE(pool.try_acquire());  // nothing open yet, and it does not connect
  auto lease = acquire_now(pool);
  EXPECT_FALSE(pool.try_acquire());
  lease.release();
  auto again = pool.try_acquire();
  ASSERT_TRUE(again);
  EXPECT_TRUE(*again);
}

TEST_F(PoolTest, CloseWakesEveryWaiterAndDrainsLeases) {
  auto config = quiet_config();
  config.max_size = 1;
  config.acquire_timeout = 10s;
  auto pool = make_pool(config);
  auto holder = acquire_now(pool);
  auto w1 = spawn_acquire(pool);
  auto w2 = spawn_acquire(pool);
  drain(ioc);
  ASSERT_EQ(pool.stats().waiting, 2u);

  bool closed = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await pool.close(5s);
        closed = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return w1->has_value() && w2->has_value(); }));
  EXPECT_EQ((*w1)->error().code(), errc::pool_closed);
  EXPECT_EQ((*w2)->error().code(), errc::pool_closed);
  EXPECT_FALSE(closed);  // still draining: a lease is out
  holder.release();
  ASSERT_TRUE(run_until(ioc, [&] { return closed; }));
  EXPECT_EQ(script->open, 0);
  auto s = pool.stats();
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.closed_count(core::CloseReason::closed), 1u);

  // Double close is harmless; acquire after close fails at once.
  pool.close_now();
  auto late = spawn_acquire(pool);
  ASSERT_TRUE(run_until(ioc, [&] { return late->has_value(); }));
  EXPECT_EQ((*late)->error().code(), errc::pool_closed);
  expect_invariants(pool);
}

TEST_F(PoolTest, CloseGivesUpOnLeasesAfterTheDeadline) {
  auto pool = make_pool(quiet_config());
  auto holder = acquire_now(pool);
  bool closed = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await pool.close(30ms);
        closed = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return closed; }));
  EXPECT_EQ(script->open, 1);  // the lease still holds it
  holder.release();
  EXPECT_EQ(script->open, 0);
}

TEST_F(PoolTest, BlockingAcquireFromAnotherThread) {
  auto pool = make_pool(quiet_config());
  auto guard = asio::make_work_guard(ioc);
  std::thread runner([&] { ioc.run(); });
  {
    auto lease = pool.acquire_blocking();
    ASSERT_TRUE(lease);
    EXPECT_EQ((*lease)->id, 1);
  }
  pool.close_blocking(1s);
  guard.reset();
  ioc.stop();
  runner.join();
  EXPECT_EQ(script->open, 0);
}

TEST_F(PoolTest, StatsAndObserverFollowEvents) {
  auto pool = make_pool(quiet_config());
  {
    auto a = acquire_now(pool);
    auto b = acquire_now(pool);
    auto s = pool.stats();
    EXPECT_EQ(s.total, 2u);
    EXPECT_EQ(s.in_use, 2u);
    EXPECT_EQ(s.leases, 2u);
    EXPECT_DOUBLE_EQ(s.utilization, 0.5);
    b.discard();
  }
  auto s = pool.stats();
  EXPECT_EQ(s.acquires, 2u);
  EXPECT_EQ(s.created, 2u);
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(s.closed_total(), 1u);
  EXPECT_EQ(observer->acquired, 2);
  EXPECT_EQ(observer->released, 2);
  EXPECT_EQ(observer->created, 2);
  EXPECT_EQ(observer->destroyed, 1);
}

// A connection can learn it is dead while idle (a Redis reader sees the server's reset): the
// pool asks recycle() before handing an idle connection out and replaces a dead one.
TEST_F(PoolTest, AnIdleConnectionThatDiesIsNeverHandedOut) {
  auto config = quiet_config();
  config.min_size = 1;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  auto idle_connection = [&] {
    auto peek = pool.try_acquire();  // returned at once: it stays in the pool, idle
    return peek ? peek->get() : nullptr;
  };

  FakeConnection* idle = idle_connection();
  ASSERT_NE(idle, nullptr);
  idle->broken = true;                           // the server reset it while idle
  EXPECT_FALSE(pool.try_acquire().has_value());  // try_acquire() does not hand it out...
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::broken), 1u);

  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));  // min_size restored
  idle = idle_connection();
  ASSERT_NE(idle, nullptr);
  const int dead_id = idle->id;
  idle->broken = true;
  auto lease = acquire_now(pool);  // ...nor does acquire(): it opens a fresh one
  ASSERT_TRUE(lease);
  EXPECT_NE(lease->id, dead_id);
  EXPECT_FALSE(lease->broken);
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::broken), 2u);
  lease.release();
  expect_invariants(pool);
}

// A closed pool may be destroyed after its io_context (e.g. a default registry shut down while
// callers still hold a handle). ASan catches a timer or socket that outlives the context.
TEST(PoolLifetime, AClosedPoolMayOutliveItsIoContext) {
  auto script = std::make_shared<Script>();
  std::optional<TestPool> pool;
  {
    asio::io_context io;
    core::PoolConfig config = PoolTest::quiet_config();
    config.min_size = 1;
    config.health_check_interval = 1s;  // a wake-up timer is pending when the pool closes
    auto created = TestPool::create(io.get_executor(), FakeConnector(script), config);
    ASSERT_TRUE(created) << created.error().to_string();
    pool.emplace(std::move(*created));
    io.run_for(50ms);
    EXPECT_EQ(pool->stats().total, 1u);
    pool->close_now();
    io.run_for(10ms);
  }
  EXPECT_TRUE(pool->stats().closed);
  pool.reset();
  EXPECT_EQ(script->open, 0);
}

}  // namespace
}  // namespace connpool::testing
