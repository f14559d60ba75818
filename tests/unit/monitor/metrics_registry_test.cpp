#include "connpool/monitor/metrics_registry.hpp"

#include "metric_lookup.hpp"
#include "support/monitor_fake_stats.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>

namespace connpool::monitor {
namespace {

using connpool::test::fake_source;
using connpool::test::FakeStats;
using connpool::test::find_family;
using connpool::test::find_series;
using Labels = std::map<std::string, std::string>;

double gauge(const std::vector<prometheus::MetricFamily>& f, std::string_view name,
             const Labels& labels) {
  const auto* m = find_series(f, name, labels);
  EXPECT_NE(m, nullptr) << name;
  return m ? m->gauge.value : -1.0;
}

TEST(MetricsRegistry, StateGaugesAreReadFromStatsAtScrapeTime) {
  auto pools = std::make_shared<PoolRegistry>();
  MetricsRegistry registry(pools);
  auto stats = std::make_shared<FakeStats>();
  stats->update([](core::PoolStats& s) {
    s.total = 5;
    s.idle = 2;
    s.in_use = 3;
    s.connecting = 1;
    s.waiting = 7;
    s.min_size = 2;
    s.max_size = 10;
    s.utilization = 0.3;
    s.sizing = core::SizingMode::predictive;
    s.target_size = 6;
    s.forecast = 4.5;
  });
  ASSERT_TRUE(pools->add(fake_source("cache", "redis", stats)));

  const Labels base = {{"pool", "cache"}, {"backend", "redis"}};
  auto state = [&](const char* s) {
    auto l = base;
    l["state"] = s;
    return l;
  };
  auto f = registry.collect();
  EXPECT_EQ(gauge(f, "connection_pool_size", state("idle")), 2.0);
  EXPECT_EQ(gauge(f, "connection_pool_size", state("active")), 3.0);
  EXPECT_EQ(gauge(f, "connection_pool_size", state("connecting")), 1.0);
  EXPECT_EQ(gauge(f, "connection_pool_size", state("total")), 5.0);
  EXPECT_EQ(gauge(f, "connection_pool_waiting", base), 7.0);
  EXPECT_EQ(gauge(f, "connection_pool_utilization", base), 0.3);
  EXPECT_EQ(gauge(f, "connection_pool_max_size", base), 10.0);
  EXPECT_EQ(gauge(f, "connection_pool_min_size", base), 2.0);
  EXPECT_EQ(gauge(f, "connection_pool_target_size", base), 6.0);
  EXPECT_EQ(gauge(f, "connection_pool_forecast", base), 4.5);

  // The next scrape sees the new state: nothing is cached between scrapes.
  stats->update([](core::PoolStats& s) {
    s.in_use = 10;
    s.idle = 0;
    s.total = 10;
    s.waiting = 0;
    s.utilization = 1.0;
  });
  f = registry.collect();
  EXPECT_EQ(gauge(f, "connection_pool_size", state("active")), 10.0);
  EXPECT_EQ(gauge(f, "connection_pool_size", state("idle")), 0.0);
  EXPECT_EQ(gauge(f, "connection_pool_waiting", base), 0.0);
  EXPECT_EQ(gauge(f, "connection_pool_utilization", base), 1.0);

  ASSERT_TRUE(pools->remove("cache"));
  f = registry.collect();
  EXPECT_EQ(find_family(f, "connection_pool_size"), nullptr);
}

TEST(MetricsRegistry, ClusterNodePoolsAreLabelledByPoolAndNode) {
  auto pools = std::make_shared<PoolRegistry>();
  MetricsRegistry registry(pools);
  // Two nodes of the cluster pool "cache", each with its exclusive pool, and a plain pool.
  for (const char* node : {"10.0.0.1:7000", "10.0.0.2:7001"}) {
    for (const char* suffix : {"", "-exclusive"}) {
      auto stats = std::make_shared<FakeStats>();
      stats->update([](core::PoolStats& s) { s.idle = 4; });
      auto source = fake_source(std::string("cache@") + node + suffix, "redis", stats);
      source.node = node;
      ASSERT_TRUE(pools->add(std::move(source)));
      registry.make_observer(std::string("cache@") + node + suffix, "redis", node)
          ->on_created(std::chrono::milliseconds(1));
    }
  }
  ASSERT_TRUE(pools->add(fake_source("plain", "redis", std::make_shared<FakeStats>())));

  const auto f = registry.collect();
  for (const char* node : {"10.0.0.1:7000", "10.0.0.2:7001"}) {
    for (const char* pool : {"cache", "cache-exclusive"}) {
      const Labels base = {{"pool", pool}, {"backend", "redis"}, {"node", node}};
      auto idle = base;
      idle["state"] = "idle";
      EXPECT_EQ(gauge(f, "connection_pool_size", idle), 4.0) << pool << " " << node;
      const auto* created = find_series(f, "connection_pool_connections_created_total", base);
      ASSERT_NE(created, nullptr) << pool << " " << node;
      EXPECT_EQ(created->counter.value, 1.0);
    }
  }
  // A single-endpoint pool has no node label at all (not node="").
  EXPECT_EQ(gauge(f, "connection_pool_waiting", {{"pool", "plain"}, {"backend", "redis"}}), 0.0);
}

TEST(MetricsRegistry, PoolLabelDropsOnlyTheNodePart) {
  EXPECT_EQ(metric_pool_label("cache@h:1", "h:1"), "cache");
  EXPECT_EQ(metric_pool_label("cache@h:1-exclusive", "h:1"), "cache-exclusive");
  EXPECT_EQ(metric_pool_label("cache@h:1", ""), "cache@h:1");
  // A name that does not carry its node keeps it whole, never becomes empty.
  EXPECT_EQ(metric_pool_label("cache", "h:1"), "cache");
  EXPECT_EQ(metric_pool_label("@h:1", "h:1"), "@h:1");
}

TEST(MetricsRegistry, ObserversOfDifferentNodesAreDistinct) {
  MetricsRegistry registry;
  auto a = registry.make_observer("c@a:1", "redis", "a:1");
  EXPECT_EQ(a, registry.make_observer("c@a:1", "redis", "a:1"));
  EXPECT_NE(a, registry.make_observer("c@a:1", "redis"));
  EXPECT_EQ(a->node(), "a:1");
}

TEST(MetricsRegistry, NodeObserversNoPoolHoldsAreExportedOnceMoreThenForgotten) {
  MetricsRegistry registry;
  auto node = registry.make_observer("c@a:1", "redis", "a:1");
  registry.make_observer("plain", "redis")->on_created(std::chrono::milliseconds(1));
  node->on_created(std::chrono::milliseconds(1));
  const Labels node_labels = {{"pool", "c"}, {"backend", "redis"}, {"node", "a:1"}};
  const Labels plain_labels = {{"pool", "plain"}, {"backend", "redis"}};
  const char* created = "connection_pool_connections_created_total";
  EXPECT_NE(find_series(registry.collect(), created, node_labels), nullptr) << "held: exported";
  node.reset();  // the node left the map: its pools (the other holders) are gone
  EXPECT_NE(find_series(registry.collect(), created, node_labels), nullptr) << "the last counts";
  const auto after = registry.collect();
  EXPECT_EQ(find_series(after, created, node_labels), nullptr);
  // Observers of ordinary pools are never dropped this way (see remove()).
  EXPECT_NE(find_series(after, created, plain_labels), nullptr);
}

TEST(MetricsRegistry, MakeObserverIsGetOrCreate) {
  MetricsRegistry registry;
  auto a = registry.make_observer("p", "redis");
  auto b = registry.make_observer("p", "redis");
  auto c = registry.make_observer("p", "firestore");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  a->on_created(std::chrono::milliseconds(1));
  const auto f = registry.collect();
  EXPECT_EQ(find_family(f, "connection_pool_connections_created_total")->metric.size(), 2u);
}

TEST(MetricsRegistry, RemovedObserverKeepsWorkingButIsNotExported) {
  MetricsRegistry registry;
  auto o = registry.make_observer("gone", "redis");
  registry.remove("gone");
  o->on_acquired(std::chrono::milliseconds(1));  // the pool may still hold it
  EXPECT_EQ(o->counters().acquires, 1u);
  const auto families = registry.collect();
  EXPECT_EQ(find_family(families, "connection_pool_wait_seconds"), nullptr);
}

TEST(MetricsRegistry, ObserverOutlivesRegistry) {
  std::shared_ptr<PrometheusObserver> o;
  {
    MetricsRegistry registry;
    o = registry.make_observer("p", "redis");
  }
  o->on_released(std::chrono::milliseconds(3));
  EXPECT_EQ(o->counters().releases, 1u);
}

TEST(MetricsRegistry, ApplicationMetricsAreScrapedToo) {
  MetricsRegistry registry;
  auto& family = prometheus::BuildCounter()
                     .Name("app_requests_total")
                     .Help("Requests.")
                     .Register(registry.prometheus_registry());
  family.Add({{"route", "/x"}}).Increment(3);
  const auto text = registry.scrape();
  EXPECT_NE(text.find("app_requests_total{route=\"/x\"} 3"), std::string::npos) << text;
}

TEST(MetricsRegistry, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.make_observer("we\"ird\\name", "redis")->on_created(std::chrono::milliseconds(1));
  const auto text = registry.scrape();
  EXPECT_NE(text.find("pool=\"we\\\"ird\\\\name\""), std::string::npos) << text;
}

TEST(MetricsRegistry, EmptyRegistryScrapesToEmptyText) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.scrape(), "");
}

}  // namespace
}  // namespace connpool::monitor
