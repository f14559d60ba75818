// MetricsRegistry: every Prometheus series connpool exports, plus a prometheus::Registry for the
// application's own metrics, serialized together for GET /metrics.
#pragma once

#include "connpool/monitor/pool_registry.hpp"
#include "connpool/monitor/prometheus_observer.hpp"

#include <prometheus/metric_family.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace connpool::monitor {

/// The error types a pool produces, exported as `connection_pool_errors_total{type=...} 0` from
/// the pool's creation, so dashboards and alerts see a series (and rate() works) before the
/// first error (Prometheus: "initialise label values you know"). They are what the pool engine
/// (src/core) records itself (acquire_timeout, connect_failed, connect_timeout,
/// validation_failed, validation_timeout) plus what the Redis and Firestore connectors and
/// health checks return for a failed connect or check. Any other type appears on its first
/// occurrence. (circuit_open is not here: rejected acquires are not reported to observers.)
inline constexpr std::array<errc, 12> kPoolErrorTypes = {
    errc::acquire_timeout,   errc::connect_failed,     errc::connect_timeout,
    errc::validation_failed, errc::validation_timeout, errc::auth_failed,
    errc::tls_error,         errc::io_error,           errc::timeout,
    errc::protocol_error,    errc::server_error,       errc::circuit_open,
};

/// Where each connpool metric comes from:
/// - counters and histograms (`*_total`, `*_seconds`) from PrometheusObserver events;
/// - state gauges (`connection_pool_size`, `_waiting`, `_utilization`, `_max_size`, `_min_size`)
///   from a PoolStats snapshot of every pool in the PoolRegistry, taken at scrape time, so they are
///   never stale and cost nothing between scrapes.
/// Every series carries the labels `pool` and `backend`; the pools of a Redis Cluster client
/// (one per node, named "<pool>@host:port") carry `pool="<pool>"` and `node="host:port"`
/// instead of the full name (metric_pool_label()). See docs/monitoring.md.
///
/// Not a global: create one per process (or per test).
/// Thread safety: every method may be called concurrently from any thread.
/// Lifetime: observers handed out stay valid after the registry is gone (they are shared).
class MetricsRegistry {
 public:
  /// `pools` (may be null) supplies the state gauges.
  explicit MetricsRegistry(std::shared_ptr<const PoolRegistry> pools = nullptr);
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// The observer to put in PoolOptions::observer for the pool named `pool` (PoolOptions::name;
  /// `node`: PoolOptions::node). Asking twice for the same (pool, backend, node) returns the
  /// same observer, so the exposition never holds duplicates. An observer with a `node` is
  /// exported while something else (its pool) holds it, and once more after that; then it is
  /// forgotten, so the series of cluster nodes that left do not accumulate.
  std::shared_ptr<PrometheusObserver> make_observer(std::string_view pool, std::string_view backend,
                                                    std::string_view node = {});
  /// Stops exporting the observer series of `pool` (the pool may keep using its observer).
  void remove(std::string_view pool);

  /// Families computed at scrape time by another layer (e.g. the proxies' counters, from their
  /// stats snapshots), appended after the pools'. Called under no lock of the registry's.
  using Collector = std::function<void(std::vector<prometheus::MetricFamily>&)>;
  void add_collector(Collector collector);

  /// For the application's own metrics: families built on it appear in scrape() after connpool's.
  /// Do not reuse connpool's metric names.
  [[nodiscard]] prometheus::Registry& prometheus_registry() noexcept { return *registry_; }
  [[nodiscard]] const std::shared_ptr<const PoolRegistry>& pools() const noexcept { return pools_; }

  /// Everything, in prometheus-cpp's data model.
  [[nodiscard]] std::vector<prometheus::MetricFamily> collect() const;
  /// Everything, in the Prometheus text exposition format 0.0.4.
  [[nodiscard]] std::string scrape() const;

 private:
  std::shared_ptr<const PoolRegistry> pools_;
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mutex_;
  std::vector<Collector> collectors_;                                   // guarded by mutex_
  mutable std::vector<std::shared_ptr<PrometheusObserver>> observers_;  // collect() prunes
};

/// Content-Type of scrape()'s output.
inline constexpr std::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace connpool::monitor
