// ProxySource: a Redis-protocol proxy as the admin API sees it. The monitor library does not
// depend on connpool_proxy (the proxy depends on monitor), so the service layer that runs the
// proxies fills these in and registers them on the PoolRegistry (docs/monitoring.md).
#pragma once

#include "connpool/monitor/latency_histogram.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace connpool::monitor {

/// What a proxy reports at one moment (a copy of proxy::ProxyStats' fields the admin API shows).
struct ProxySnapshot {
  /// False when the proxy is gone (stopped and destroyed); the counters are then zero.
  bool running = true;
  /// "127.0.0.1:6380", "unix:///run/connpool.sock": where it accepts clients now.
  std::vector<std::string> listen;
  std::uint64_t clients_connected = 0;
  std::uint64_t clients_pinned = 0;
  std::uint64_t clients_subscribed = 0;
  std::uint64_t clients_total = 0;
  /// Commands by result: "ok", "error", "failed", "local".
  std::map<std::string, std::uint64_t> commands;
  /// Commands refused by the proxy, by the rule that refused them ("monitor", "quit", ...).
  std::map<std::string, std::uint64_t> refused_by_rule;
  /// Clients disconnected or turned away by the proxy, by reason ("max_clients", ...).
  std::map<std::string, std::uint64_t> disconnects;
  /// Forwarded commands, from the request's arrival to its reply.
  HistogramSnapshot latency;
};

struct ProxySource {
  /// Unique among the proxies of a registry (same rules as a pool name).
  std::string name;
  /// The pool it forwards to: the admin API lists the proxy under that pool.
  std::string pool;
  /// Required; thread-safe (called from the admin server's threads).
  std::function<ProxySnapshot()> snapshot;
};

}  // namespace connpool::monitor
