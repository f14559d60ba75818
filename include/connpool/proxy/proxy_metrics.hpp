// The proxies' Prometheus families, built from ProxyServer::stats() at scrape time (registered
// on a monitor::MetricsRegistry with add_collector(); docs/proxy.md#metrics).
#pragma once

#include "connpool/proxy/proxy_server.hpp"

#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

namespace connpool::proxy {

struct ProxyMetricsSource {
  std::string name;  ///< label proxy="..."
  std::string pool;  ///< label pool="...": the pool it forwards to
  /// Weak: a metrics registry must not keep a proxy (and its upstream pools, whose observers
  /// hold the registry) alive; a proxy that is gone is skipped.
  std::weak_ptr<const ProxyServer> server;
};

/// Appends connection_proxy_clients, _pinned_clients, _subscribed_clients (gauges),
/// _commands_total{result}, _refused_total{rule}, _disconnects_total{reason} (counters) and
/// _command_duration_seconds (histogram), one series per proxy.
void collect_proxy_metrics(const std::vector<ProxyMetricsSource>& proxies,
                           std::vector<prometheus::MetricFamily>& out);

}  // namespace connpool::proxy
