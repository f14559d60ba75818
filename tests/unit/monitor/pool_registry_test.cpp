#include "connpool/monitor/pool_registry.hpp"

#include "connpool/core/detail/pool_engine.hpp"  // PoolOptions, without pool.hpp

#include "support/monitor_fake_stats.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace connpool::monitor {
namespace {

using connpool::test::fake_source;
using connpool::test::FakeStats;

TEST(PoolRegistry, AddFindListRemove) {
  PoolRegistry r;
  auto stats = std::make_shared<FakeStats>();
  ASSERT_TRUE(r.add(fake_source("sessions", "redis", stats)));
  ASSERT_TRUE(r.add(fake_source("cache", "redis", stats)));
  ASSERT_TRUE(r.add(fake_source("docs", "firestore", stats)));
  EXPECT_EQ(r.size(), 3u);
  const auto list = r.list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]->name, "cache");
  EXPECT_EQ(list[1]->name, "docs");
  EXPECT_EQ(list[2]->name, "sessions");
  ASSERT_NE(r.find("docs"), nullptr);
  EXPECT_EQ(r.find("docs")->backend, "firestore");
  EXPECT_EQ(r.find("nope"), nullptr);
  EXPECT_TRUE(r.remove("docs"));
  EXPECT_FALSE(r.remove("docs"));
  EXPECT_EQ(r.find("docs"), nullptr);
  // An entry handed out before remove() stays readable.
  EXPECT_EQ(list[1]->stats().total, 0u);
}

TEST(PoolRegistry, RejectsDuplicatesAndBadNames) {
  PoolRegistry r;
  auto stats = std::make_shared<FakeStats>();
  ASSERT_TRUE(r.add(fake_source("cache", "redis", stats)));
  auto dup = r.add(fake_source("cache", "firestore", stats));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), errc::already_exists);
  for (const char* bad : {"", "a/b", "has space", "tab\t", "\x7f"}) {
    auto res = r.add(fake_source(bad, "redis", stats));
    ASSERT_FALSE(res) << bad;
    EXPECT_EQ(res.error().code(), errc::invalid_argument);
  }
  EXPECT_FALSE(r.add(fake_source(std::string(129, 'x'), "redis", stats)));
  EXPECT_TRUE(r.add(fake_source(std::string(128, 'x'), "redis", stats)));
  PoolSource no_stats;
  no_stats.name = "x";
  EXPECT_EQ(r.add(no_stats).error().code(), errc::invalid_argument);
}

// Anything shaped like Pool<C> registers through the template.
struct PoolLike {
  core::PoolOptions opts;
  core::PoolStats s;
  core::PoolConfig c;
  [[nodiscard]] core::PoolStats stats() const { return s; }
  [[nodiscard]] core::PoolConfig config() const { return c; }
  [[nodiscard]] const core::PoolOptions& options() const { return opts; }
};

TEST(PoolRegistry, AddsAPoolWithItsOptionsAndObserver) {
  PoolRegistry r;
  PoolLike pool;
  pool.opts.name = "orders";
  pool.opts.backend = "redis";
  pool.opts.target = "redis://:***@127.0.0.1:6379/0";
  auto observer = std::make_shared<PrometheusObserver>("orders", "redis");
  pool.opts.observer = observer;
  pool.s.total = 4;
  pool.c.max_size = 33;
  ASSERT_TRUE(r.add(pool, "staging"));
  auto e = r.find("orders");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->backend, "redis");
  EXPECT_EQ(e->target, "redis://:***@127.0.0.1:6379/0");
  EXPECT_EQ(e->environment, "staging");
  EXPECT_EQ(e->observer, observer);
  EXPECT_EQ(e->stats().total, 4u);
  EXPECT_EQ(e->config().max_size, 33u);
  pool.s.total = 6;  // read live, not copied at add()
  EXPECT_EQ(e->stats().total, 6u);
}

TEST(PoolRegistry, ConcurrentReadersAndWriters) {
  PoolRegistry r;
  auto stats = std::make_shared<FakeStats>();
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      for (const auto& e : r.list()) (void)e->stats();
      (void)r.find("p7");
    }
  });
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(r.add(fake_source("p" + std::to_string(i), "redis", stats)));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.remove("p" + std::to_string(i)));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace connpool::monitor
