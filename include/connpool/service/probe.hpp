// One health probe per configured pool, for `connpool check`: open one connection with the
// pool's connect_timeout and ping it within its validation_timeout.
#pragma once

#include "connpool/config/config.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace connpool::service {

struct ProbeResult {
  enum class Status { healthy, unhealthy, unchecked };
  std::string pool;
  std::string backend;
  std::string endpoint;  ///< redacted
  Status status = Status::unchecked;
  std::chrono::microseconds latency{0};  ///< connect + ping, when it ran
  std::string detail;                    ///< PONG, or why not (never a secret)
};

/// Probes every pool concurrently and returns the results in the pools' order. Blocks until each
/// probe finished or hit its own timeouts.
std::vector<ProbeResult> probe_pools(const std::vector<config::PoolSpec>& pools);

}  // namespace connpool::service
