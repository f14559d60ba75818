// The admin API's JSON documents (schema: docs/monitoring.md).
#pragma once

#include "connpool/monitor/pool_registry.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace connpool::monitor::detail {

/// One entry of GET /api/v1/admin/connection-pools. Calls the pool's stats source (and config).
/// `with_connections` adds the per-connection list (the single-pool endpoint).
nlohmann::json pool_json(const PoolSource& pool, bool with_connections = false);

/// The `proxies` of a pool's entry: each proxy forwarding to it, with its listen addresses,
/// clients, commands by result, refused commands by rule and latency. Calls each snapshot.
nlohmann::json proxies_json(const std::vector<std::shared_ptr<const ProxySource>>& proxies);

/// "healthy", "degraded" (not ready, or the circuit breaker is probing), "circuit_open" or
/// "closed": the one-word state an operator page shows.
std::string_view pool_state(const core::PoolStats& stats, bool ready);

/// Whether `pool` is ready (min_size reached, last health check passed, not closed), with the
/// reasons when it is not.
struct PoolReadiness {
  bool ready = true;
  std::vector<std::string> reasons;
};
PoolReadiness pool_readiness(const core::PoolStats& stats);

/// GET /readyz: {"status": "ready"|"not_ready", "pools": [{name, ready, reasons}]}.
/// `ready` is set to false when any pool is not ready.
nlohmann::json readiness_json(const PoolRegistry& pools, bool& ready);

/// {"error": {"status": 404, "code": "not_found", "message": "..."}}
std::string error_body(unsigned status, std::string_view code, std::string_view message);

/// RFC 3339 UTC with milliseconds: "2026-11-28T08:18:05.123Z".
std::string format_time(std::chrono::system_clock::time_point t);

}  // namespace connpool::monitor::detail
