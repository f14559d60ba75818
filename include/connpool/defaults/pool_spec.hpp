// Which configured pool a default helper uses (get_redis_pool(), get_firestore_pool(), ...).
//
// The default pools read the same configuration as `connpool serve`: the YAML file named by
// CONNPOOL_CONFIG, the environment variables (REDIS_URL, FIRESTORE_EMULATOR_HOST,
// GOOGLE_CLOUD_PROJECT, CONNPOOL_POOLS__<NAME>__<FIELD>) and the CONNPOOL_ENV profile. Of the
// pools that configuration defines, a default helper takes the one named after its backend
// ("redis" / "firestore"), or else the only pool of that backend.
// Thread safety: reentrant; load_default_pool_spec() reads the process environment.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/config/load.hpp"
#include "connpool/core/result.hpp"

#include <string_view>

namespace connpool::defaults {

/// The Redis pool used when nothing configures one: the original helpers' local server.
inline constexpr std::string_view kFallbackRedisUrl = "redis://127.0.0.1:6379";

/// The spec of `backend`'s default pool in `config`:
/// - the pool named "redis" / "firestore" if it has that backend;
/// - else the only pool of that backend;
/// - else, for Redis, a pool "redis" at kFallbackRedisUrl with the built-in defaults and the
///   profile's max_size (what the helpers did before there was a configuration); for Firestore
///   an errc::invalid_config error saying what to set.
/// Several pools of the backend and none named after it is an errc::invalid_config error
/// listing them.
Result<config::PoolSpec> default_pool_spec(const config::Config& config, config::Backend backend);

/// load(env) then default_pool_spec(); a configuration error is returned as load() words it
/// (file:line:column, key path, rule), prefixed with which default pool was being built.
Result<config::PoolSpec> load_default_pool_spec(const config::EnvMap& env, config::Backend backend);

}  // namespace connpool::defaults
