// What each configuration layer said, before it is applied: key/value texts with their origins.
// The YAML file, environment variables and flags are all read into these shapes first, so one
// loader applies them in precedence order with the same parsing and the same messages.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/result.hpp"

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace connpool::config::detail {

/// One `key: value` as text.
struct Setting {
  std::string key;
  std::string value;
  Origin origin;  ///< where the value is (file:line:col of the value, env:VAR, flag:--set)
};

/// One pool as a layer describes it.
struct PoolSource {
  std::string name;
  Origin origin;  ///< where the pool is named (its key in the file, or the variable)
  std::vector<Setting> settings;
};

/// A whole layer (file, environment, or flags).
struct Layer {
  std::optional<Setting> environment;
  std::vector<PoolSource> pools;
  std::vector<Setting> admin;
  /// `proxies:` (file), CONNPOOL_PROXIES__<NAME>__<KEY> (environment), --set proxies.<name>.<key>.
  std::vector<PoolSource> proxies;

  PoolSource& pool(const std::string& name, const Origin& origin);
  PoolSource& proxy(const std::string& name, const Origin& origin);
};

/// "<where>: <key path>: <rule>" as errc::invalid_config.
Error config_error(const Origin& where, std::string_view key_path, std::string_view rule);

/// Pool names must be addressable from CONNPOOL_POOLS__<NAME>__<FIELD>: [a-z][a-z0-9_-]*, no "__".
std::optional<std::string> check_pool_name(std::string_view name);

/// Reads a YAML document. Structural errors (syntax, unknown or duplicate keys, a mapping where a
/// scalar belongs) come out here, located; value errors come out when the layer is applied.
Result<Layer> read_yaml(std::string_view text, std::string_view file_name);

/// A warning when the file at `path` holds a secret (a URL password or secret parameter, the
/// admin token) and its group or others may read it; nullopt when it is fine.
std::optional<std::string> secret_file_warning(const std::string& path, const Layer& layer);
/// Writes `warning` to stderr, once per process.
void warn_once(const std::string& warning);

/// The keys a proxy takes (proxies.cpp).
std::vector<std::string_view> proxy_field_names();
/// A proxy key checked against proxy_field_names(): "unknown key; did you mean ...?" otherwise.
Result<void> check_proxy_key(const Origin& where, const std::string& path, const std::string& key);

/// The proxies of the layers (later layers override earlier ones key by key; a proxy named
/// "web-cache" in the file is WEB_CACHE in a variable), checked against the configured pools
/// (proxies.cpp). Null layers are skipped.
Result<std::vector<ProxySpec>> build_proxies(std::initializer_list<const Layer*> layers,
                                             const std::vector<PoolSpec>& pools);

/// Reads CONNPOOL_ENV, CONNPOOL_ADMIN_*, CONNPOOL_POOLS__*__* (REDIS_URL and the Firestore
/// variables need the file's pools and are handled by the loader).
Result<Layer> read_env_layer(const std::map<std::string, std::string, std::less<>>& env);

/// Reads --env and --set KEY=VALUE flags.
Result<Layer> read_flag_layer(const std::optional<std::string>& environment,
                              const std::vector<std::string>& set);

}  // namespace connpool::config::detail
