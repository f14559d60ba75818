// Pool::retire_all(): every connection is replaced without closing the pool (what a Redis
// Sentinel failover needs), and nothing queued is lost.
#include "pool_fixture.hpp"

namespace connpool::testing {
namespace {

TEST_F(PoolTest, RetireAllClosesIdleNowAndLeasedOnReturnNeverReusingThem) {
  auto config = quiet_config();
  config.min_size = 2;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 2; }));
  auto held = acquire_now(pool);
  const int held_id = held->id;

  pool.retire_all();
  // The idle one is closed at once and replaced to keep min_size; the leased one stays open.
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::retired), 1u);
  EXPECT_EQ(script->open, 2);
  auto fresh = acquire_now(pool);
  EXPECT_EQ(fresh->id, 3);  // a new connection, not one opened before retire_all()

  held.release();  // a retired connection closes when returned, it is never reused
  ASSERT_TRUE(run_until(ioc, [&] {
    return pool.stats().closed_count(core::CloseReason::retired) == 2 && pool.stats().total == 2;
  }));
  fresh.release();
  std::vector<int> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(acquire_now(pool)->id);
  for (int id : ids) {
    EXPECT_NE(id, held_id);
    EXPECT_GE(id, 3);
  }
  expect_invariants(pool);
}

TEST_F(PoolTest, RetireAllRetiresAConnectStartedBeforeItAndServesTheWaiterFromANewOne) {
  script->connects.push_back(Step::slow);  // in flight while retire_all() runs
  auto pool = make_pool(quiet_config());
  auto waiting = spawn_acquire(pool, 2000ms);
  ASSERT_TRUE(run_until(ioc, [&] { return script->connect_calls == 1; }));
  pool.retire_all();
  ASSERT_TRUE(run_until(ioc, [&] { return waiting->has_value(); }));
  ASSERT_TRUE(**waiting) << (*waiting)->error().to_string();
  EXPECT_EQ((**waiting).value()->id, 2);  // the slow connect (id 1) may point at the old backend
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::retired), 1u);
  EXPECT_EQ(script->connect_calls, 2);
  waiting->reset();
  expect_invariants(pool);
}

TEST_F(PoolTest, RetireAllOnAClosedPoolDoesNothing) {
  auto config = quiet_config();
  config.min_size = 1;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  pool.close_now();
  pool.retire_all();
  ioc.poll();
  EXPECT_EQ(pool.stats().closed_count(core::CloseReason::retired), 0u);
  EXPECT_EQ(script->connect_calls, 1);
}

TEST_F(PoolTest, RetireAllForgetsTheConnectBackoffOfTheOldBackend) {
  script->set_default_connect(Step::fail);
  auto config = quiet_config();
  config.min_size = 1;
  config.reconnect_backoff_initial = 10s;
  config.reconnect_backoff_max = 10s;
  auto pool = make_pool(config);
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().connect_failures == 1; }));
  pool.run_maintenance();
  EXPECT_EQ(script->connect_calls, 1);  // backing off for 10s
  script->set_default_connect(Step::ok);
  pool.retire_all();  // e.g. Sentinel named a new master
  ASSERT_TRUE(run_until(ioc, [&] { return pool.stats().idle == 1; }));
  EXPECT_EQ(script->connect_calls, 2);
  expect_invariants(pool);
}

}  // namespace
}  // namespace connpool::testing
