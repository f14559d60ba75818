// Predictive sizing against a real redis-server: under a rising load the pool opens connections
// ahead of the leases it hands out (real connects, each answering PING), and once the load is
// gone it closes them again, down to min_size and not below.
#include "connpool/core/pool.hpp"
#include "connpool/redis/connector.hpp"

#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

using connpool::test::IoThreads;
using connpool::test::RedisServer;
using std::chrono::milliseconds;
using RedisPool = core::Pool<RedisConnector>;

template <class Pred>
bool eventually(Pred pred, milliseconds limit = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

TEST(RedisSizing, PredictiveOpensAheadOfARampAndShrinksBackToMinSize) {
  std::string err;
  auto server = RedisServer::start({}, &err);
  ASSERT_TRUE(server) << err;
  auto url = RedisUrl::parse("redis://127.0.0.1:" + std::to_string(server->port()));
  ASSERT_TRUE(url) << url.error().to_string();

  core::PoolConfig config;
  config.min_size = 2;
  config.max_size = 16;
  config.sizing = core::SizingMode::predictive;
  config.predictive.sample_interval = milliseconds(20);
  config.predictive.level_time_constant = milliseconds(200);
  config.predictive.trend_time_constant = milliseconds(600);
  config.predictive.horizon = milliseconds(600);
  config.predictive.scale_down_delay = milliseconds(300);
  IoThreads io;
  auto pool = RedisPool::create(io.executor(), RedisConnector(*url), config);
  ASSERT_TRUE(pool) << pool.error().to_string();
  ASSERT_TRUE(eventually([&] { return pool->stats().idle == 2; }));

  // One more lease every 60 ms up to 8: a ramp the trend picks up.
  std::vector<RedisPool::lease_type> held;
  bool ahead = false;
  for (int i = 0; i < 8; ++i) {
    auto lease = pool->acquire_blocking();
    ASSERT_TRUE(lease) << lease.error().to_string();
    held.push_back(std::move(*lease));
    std::this_thread::sleep_for(milliseconds(60));
    const auto s = pool->stats();
    if (s.target_size > held.size() && s.total > held.size()) ahead = true;
  }
  EXPECT_TRUE(ahead) << "the pool never had more open than leased during the ramp";
  EXPECT_GT(pool->stats().forecast, 0.0);
  // Every connection the pool opened is a real one.
  for (auto& lease : held) {
    const std::string_view ping[] = {"PING"};
    auto reply = io.run(lease->execute(ping));
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_EQ(reply->str(), "PONG");
  }

  held.clear();
  ASSERT_TRUE(eventually([&] { return pool->stats().total == 2; }))
      << "total " << pool->stats().total << ", target " << pool->stats().target_size;
  const auto s = pool->stats();
  EXPECT_EQ(s.target_size, 2u);
  EXPECT_GT(s.closed_count(core::CloseReason::shrink), 0u);
  // And it stays at min_size.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(pool->stats().total, 2u);
  EXPECT_EQ(pool->check_invariants(), "");
  pool->close_blocking(milliseconds(1000));
}

}  // namespace
}  // namespace connpool::redis
