// Shared leases (max_leases_per_connection > 1), resize and cancellation.
#include "pool_fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

namespace connpool::testing {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

core::PoolConfig shared_config() {
  auto c = PoolTest::quiet_config();
  c.max_size = 2;
  c.max_leases_per_connection = 4;
  c.acquire_timeout = 10s;
  return c;
}

TEST_F(PoolTest, SharedLeasesFillOneConnectionBeforeOpeningAnother) {
  auto pool = make_pool(shared_config());
  std::vector<TestLease> leases;
  for (int i = 0; i < 4; ++i) leases.push_back(acquire_now(pool));
  EXPECT_EQ(script->connect_calls, 1);  // one connection carries all four
  for (auto& l : leases) EXPECT_EQ(l->id, 1);
  leases.push_back(acquire_now(pool));
  EXPECT_EQ(leases.back()->id, 2);
  auto s = pool.stats();
  EXPECT_EQ(s.total, 2u);
  EXPECT_EQ(s.in_use, 2u);
  EXPECT_EQ(s.leases, 5u);
  EXPECT_DOUBLE_EQ(s.utilization, 5.0 / 8.0);
  expect_invariants(pool);
}

TEST_F(PoolTest, SharedLeasesPickTheLeastLoadedConnection) {
  auto pool = make_pool(shared_config());
  std::vector<TestLease> leases;
  for (int i = 0; i < 5; ++i) leases.push_back(acquire_now(pool));  // conn1: 4, conn2: 1
  leases[0].release();
  leases[1].release();  // conn1: 2, conn2: 1
  auto next = acquire_now(pool);
  EXPECT_EQ(next->id, 2);
  expect_invariants(pool);
}

TEST_F(PoolTest, SharedPoolQueuesWhenEveryConnectionIsFull) {
  auto pool = make_pool(shared_config());
  std::vector<TestLease> leases;
  for (int i = 0; i < 8; ++i) leases.push_back(acquire_now(pool));
  EXPECT_DOUBLE_EQ(pool.stats().utilization, 1.0);
  auto waiter = spawn_acquire(pool);
  drain(ioc);
  EXPECT_EQ(pool.stats().waiting, 1u);
  expect_invariants(pool);
  const int freed_id = leases[2]->id;
  leases[2].release();  // frees one lease on a busy connection: the waiter takes it
  ASSERT_TRUE(run_until(ioc, [&] { return waiter->has_value(); }));
  ASSERT_TRUE(**waiter);
  EXPECT_EQ((**waiter).value()->id, freed_id);
  expect_invariants(pool);
}

TEST_F(PoolTest, SharedConnectionRetiresAfterItsLastLease) {
  auto config = shared_config();
  config.max_lifetime = 1s;
  config.max_lifetime_jitter = 0.0;
  auto pool = make_pool(config);
  auto a = acquire_now(pool);
  auto b = acquire_now(pool);
  clock->advance(1s);
  pool.run_maintenance();  // past its lifetime: drains, takes no new leases
  auto c = acquire_now(pool);
  EXPECT_NE(c->id, a->id);
  a.release();
  EXPECT_EQ(pool.stats().total, 2u);
  b.release();
  auto s = pool.stats();
  EXPECT_EQ(s.total, 1u);
  EXPECT_EQ(s.closed_count(core::CloseReason::lifetime), 1u);
  expect_invariants(pool);
}

TEST_F(PoolTest, DiscardOfASharedConnectionWaitsForItsOtherLeases) {
  auto pool = make_pool(shared_config());
  auto a = acquire_now(pool);
  auto b = acquire_now(pool);
  a.discard();
  EXPECT_EQ(pool.stats().total, 1u);  // b still uses it
  auto c = acquire_now(pool);         // but it takes no new lease
  EXPECT_NE(c->id, b->id);
  auto d = acquire_now(pool);  // joins c on the healthy connection
  EXPECT_EQ(d->id, c->id);
  EXPECT_EQ(d.detach(), nullptr);  // a connection others share cannot be detached...
  EXPECT_TRUE(d);                  // ...and the lease is kept
  b.release();
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::broken), 1u);
  expect_invariants(pool);
}

TEST_F(PoolTest, ResizeShrinksIdleNowAndBusyLater) {
  auto config = quiet_config();
  config.max_size = 4;
  auto pool = make_pool(config);
  std::vector<TestLease> leases;
  for (int i = 0; i < 4; ++i) leases.push_back(acquire_now(pool));
  leases.pop_back();  // 3 busy, 1 idle
  ASSERT_TRUE(pool.resize(0, 2));
  auto s = pool.stats();
  EXPECT_EQ(s.max_size, 2u);
  EXPECT_EQ(s.closed_count(core::CloseReason::shrink), 1u);
  leases.clear();
  s = pool.stats();
  EXPECT_EQ(s.total, 2u);
  EXPECT_EQ(s.closed_count(core::CloseReason::shrink), 2u);
  EXPECT_FALSE(pool.resize(3, 2));
  EXPECT_EQ(pool.resize(3, 2).error().message(), "resize: min_size (3) > max_size (2)");
  ASSERT_TRUE(pool.resize(3, 6));
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().total == 3; }));  // grows to min
  expect_invariants(pool);
}

TEST_F(PoolTest, CancelledAcquireLeavesTheQueue) {
  auto config = quiet_config();
  config.max_size = 1;
  config.acquire_timeout = 10s;
  auto pool = make_pool(config);
  auto holder = acquire_now(pool);
  bool timer_won = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc, 20ms);
        auto r = co_await (pool.acquire() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
        timer_won = r.index() == 1;
      },
      asio::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return timer_won; }));
  EXPECT_EQ(pool.stats().waiting, 0u);
  holder.release();
  EXPECT_EQ(pool.stats().idle, 1u);  // nobody took it
  expect_invariants(pool);
}

}  // namespace
}  // namespace connpool::testing
