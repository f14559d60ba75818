// Picking a default helper's pool out of the effective configuration.
#include "connpool/defaults/pool_spec.hpp"

#include "connpool/config/defaults.hpp"

#include <string>
#include <vector>

namespace connpool::defaults {

namespace {

std::string context(config::Backend backend) {
  return "the default " + std::string(config::to_string(backend)) + " pool";
}

config::PoolSpec fallback_redis_spec(config::Environment environment) {
  config::PoolSpec spec;
  spec.name = "redis";
  spec.backend = config::Backend::redis;
  spec.redis.url = std::string(kFallbackRedisUrl);
  spec.pool = config::builtin_pool_config(config::Backend::redis);
  spec.pool.max_size = config::profile_max_size(environment, config::Backend::redis);
  spec.origins["max_size"] = config::Origin::profile(environment);
  return spec;
}

}  // namespace

Result<config::PoolSpec> default_pool_spec(const config::Config& config, config::Backend backend) {
  const std::string_view wanted = config::to_string(backend);
  std::vector<const config::PoolSpec*> candidates;
  for (const config::PoolSpec& spec : config.pools) {
    if (spec.backend != backend) continue;
    if (spec.name == wanted) return spec;
    candidates.push_back(&spec);
  }
  if (candidates.size() == 1) return *candidates.front();
  if (candidates.size() > 1) {
    std::string names;
    for (const config::PoolSpec* spec : candidates)
      names += (names.empty() ? "" : ", ") + spec->name;
    return Error(errc::invalid_config,
                 "pools: " + std::to_string(candidates.size()) + " " + std::string(wanted) +
                     " pools (" + names + ") and none is named '" + std::string(wanted) +
                     "': name the one the default helpers should use '" + std::string(wanted) + "'")
        .with_context(context(backend));
  }
  if (backend == config::Backend::redis) return fallback_redis_spec(config.environment);
  return Error(errc::invalid_config,
               "no firestore pool configured: set GOOGLE_CLOUD_PROJECT (or "
               "FIRESTORE_EMULATOR_HOST), or define pools.firestore in the file named by "
               "CONNPOOL_CONFIG")
      .with_context(context(backend));
}

Result<config::PoolSpec> load_default_pool_spec(const config::EnvMap& env,
                                                config::Backend backend) {
  auto loaded = config::load(env);
  if (!loaded) return std::move(loaded).error().with_context(context(backend));
  return default_pool_spec(*loaded, backend);
}

}  // namespace connpool::defaults
