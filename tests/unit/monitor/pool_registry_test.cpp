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
  EXPECT_EQ(e->node, "");
  pool.opts.node = "10.0.0.1:7000";
  EXPECT_EQ(make_pool_source(pool).node, "10.0.0.1:7000");
}

TEST(PoolRegistry, GroupsAreListedLiveAndSorted) {
  PoolRegistry registry;
  auto stats = std::make_shared<FakeStats>();
  ASSERT_TRUE(registry.add(fake_source("m", "redis", stats)));
  // A group whose membership changes between calls, as a cluster's node pools do.
  auto members =
      std::make_shared<std::vector<std::string>>(std::vector<std::string>{"z@n:2", "a@n:1"});
  auto mutex = std::make_shared<std::mutex>();
  ASSERT_TRUE(registry.add_group("cluster", [=] {
    std::lock_guard lock(*mutex);
    std::vector<PoolSource> out;
    for (const auto& name : *members) {
      auto s = fake_source(name, "redis", stats);
      s.node = name.substr(name.find('@') + 1);
      s.owner = stats;
      out.push_back(std::move(s));
    }
    return out;
  }));
  auto names = [&] {
    std::vector<std::string> n;
    for (const auto& e : registry.list()) n.push_back(e->name);
    return n;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"a@n:1", "m", "z@n:2"}));
  ASSERT_NE(registry.find("a@n:1"), nullptr);
  EXPECT_EQ(registry.find("a@n:1")->node, "n:1");
  EXPECT_EQ(registry.size(), 3u);
  {
    std::lock_guard lock(*mutex);
    *members = {"b@n:3"};
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"b@n:3", "m"}));
  EXPECT_EQ(registry.find("a@n:1"), nullptr);

  EXPECT_EQ(registry.add_group("cluster", [] { return std::vector<PoolSource>{}; }).error().code(),
            errc::already_exists);
  EXPECT_EQ(registry.add_group("", [] { return std::vector<PoolSource>{}; }).error().code(),
            errc::invalid_argument);
  EXPECT_EQ(registry.add_group("x", nullptr).error().code(), errc::invalid_argument);
  EXPECT_TRUE(registry.remove_group("cluster"));
  EXPECT_FALSE(registry.remove_group("cluster"));
  EXPECT_EQ(names(), (std::vector<std::string>{"m"}));
}

TEST(PoolRegistry, GroupSourcesThatCannotBeListedAreLeftOut) {
  PoolRegistry registry;
  auto stats = std::make_shared<FakeStats>();
  ASSERT_TRUE(registry.add(fake_source("taken", "redis", stats)));
  ASSERT_TRUE(registry.add_group("g", [stats] {
    std::vector<PoolSource> out;
    out.push_back(fake_source("taken", "redis", stats));     // name of a pool listed before
    out.push_back(fake_source("bad name", "redis", stats));  // invalid name
    PoolSource no_stats;
    no_stats.name = "nostats";
    out.push_back(no_stats);
    out.push_back(fake_source("good", "redis", stats));
    out.push_back(fake_source("good", "firestore", stats));  // duplicate within the group
    return out;
  }));
  const auto list = registry.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->name, "good");
  EXPECT_EQ(list[0]->backend, "redis");
  EXPECT_EQ(list[1]->name, "taken");
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
