// The built-in defaults and environment profiles, as the original system documented them:
//   Redis     min_size 5, max_size 20, max_idle_time 600s, health_check_interval 30s
//   Firestore min_size 2, max_size 10, max_idle_time 300s, health_check_interval 60s
//   max_size by environment: production 50 / 20, staging 20 / 10, development 20 / 10
// Firestore pools also default to max_leases_per_connection 100 (gRPC's stream limit per channel);
// every other PoolConfig field keeps the core's default.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/pool_config.hpp"

#include <cstddef>

namespace connpool::config {

/// The built-in PoolConfig of a backend (before any profile).
core::PoolConfig builtin_pool_config(Backend backend);

/// max_size the environment profile sets for a backend.
std::size_t profile_max_size(Environment environment, Backend backend);

}  // namespace connpool::config
