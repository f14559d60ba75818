// Built-in defaults and environment profiles (the numbers are the original system's, see
// /work/shared/ORIGINAL-SYSTEM.md "Pool Sizes" and "Environment-Specific Settings").
#include "connpool/config/defaults.hpp"

namespace connpool::config {

core::PoolConfig builtin_pool_config(Backend backend) {
  using std::chrono::seconds;
  core::PoolConfig c;
  if (backend == Backend::redis) {
    c.min_size = 5;
    c.max_size = 20;
    c.max_idle_time = seconds(600);
    c.health_check_interval = seconds(30);
  } else {
    c.min_size = 2;
    c.max_size = 10;
    c.max_idle_time = seconds(300);
    c.health_check_interval = seconds(60);
    // Not in the original (it had no shared leases): one gRPC channel carries up to 100
    // concurrent streams by default, as firestore::default_pool_config() assumes too.
    c.max_leases_per_connection = 100;
  }
  return c;
}

std::size_t profile_max_size(Environment environment, Backend backend) {
  const bool redis = backend == Backend::redis;
  switch (environment) {
    case Environment::production:
      return redis ? 50 : 20;
    case Environment::staging:
    case Environment::development:
      // The original gave development the same sizes as staging; kept for parity.
      return redis ? 20 : 10;
  }
  return redis ? 20 : 10;
}

}  // namespace connpool::config
