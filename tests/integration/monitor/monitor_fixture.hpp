// A populated PoolRegistry + MetricsRegistry (two hand-made pools, one with scripted observer
// events) for the admin server tests.
#pragma once

#include "connpool/monitor/admin_server.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include "support/monitor_fake_stats.hpp"

#include <chrono>
#include <memory>

namespace connpool::test {

struct MonitorFixture {
  MonitorFixture() {
    using namespace std::chrono_literals;
    cache_stats->update([](core::PoolStats& s) {
      s.total = 3;
      s.idle = 1;
      s.in_use = 2;
      s.leases = 2;
      s.min_size = 2;
      s.max_size = 8;
      s.utilization = 0.25;
      s.acquires = 42;
      s.created = 3;
    });
    docs_stats->update([](core::PoolStats& s) {
      s.total = 1;
      s.idle = 1;
      s.min_size = 1;
      s.max_size = 4;
    });
    auto cache = fake_source("cache", "redis", cache_stats);
    cache.target = "redis://app:hunter2@127.0.0.1:6379/0";
    cache.observer = cache_observer;
    (void)pools->add(std::move(cache));
    auto docs = fake_source("docs", "firestore", docs_stats);
    docs.target = "firestore://projects/demo/databases/(default)";
    docs.observer = metrics->make_observer("docs", "firestore");
    (void)pools->add(std::move(docs));
    cache_observer->on_created(2ms);
    cache_observer->on_acquired(0ns);
    cache_observer->on_acquired(3ms);
    cache_observer->on_released(12ms);
    cache_observer->on_error(Error(errc::connect_failed, "refused"));
    cache_observer->on_health_check(true, 1ms);
    cache_observer->on_destroyed(core::CloseReason::idle);
  }

  std::shared_ptr<monitor::PoolRegistry> pools = std::make_shared<monitor::PoolRegistry>();
  std::shared_ptr<monitor::MetricsRegistry> metrics =
      std::make_shared<monitor::MetricsRegistry>(pools);
  std::shared_ptr<monitor::PrometheusObserver> cache_observer =
      metrics->make_observer("cache", "redis");
  std::shared_ptr<FakeStats> cache_stats = std::make_shared<FakeStats>();
  std::shared_ptr<FakeStats> docs_stats = std::make_shared<FakeStats>();

  monitor::AdminServer start(monitor::AdminServerOptions options = {}) {
    auto server = monitor::AdminServer::start_on_own_thread(std::move(options), pools, metrics);
    if (!server) throw std::runtime_error(server.error().to_string());
    return std::move(server).value();
  }
};

}  // namespace connpool::test
