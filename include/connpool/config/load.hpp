// Loading the effective configuration from its five layers.
//
// Precedence, lowest first: built-in defaults < environment profile < YAML file < environment
// variables < command-line flags. The process environment is passed in as a map (never read
// inside the loader) so tests are hermetic; process_environment() builds it for real programs.
//
// Errors are errc::invalid_config and always read "<where>: <key path>: <rule>", e.g.
//   config.yaml:12:15: pools.cache.max_size: must be >= min_size (5), got 3
//   env:CONNPOOL_POOLS__CACHE__MAX_SIZE: pools.cache.max_size: must be a whole number, got 'ten'
// Secrets (URL passwords, the admin token) never appear in messages.
// Thread safety: the functions are reentrant; they touch no global state.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::config {

/// Environment variables by name. Only the ones connpool reads matter:
/// CONNPOOL_ENV, CONNPOOL_CONFIG, REDIS_URL, FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT,
/// CONNPOOL_ADMIN_PORT, CONNPOOL_ADMIN_TOKEN, CONNPOOL_POOLS__<NAME>__<FIELD> and
/// CONNPOOL_PROXIES__<NAME>__<KEY>.
/// An empty value counts as unset (as docker-compose and CI often leave them).
using EnvMap = std::map<std::string, std::string, std::less<>>;

/// The variables of this process that connpool reads (the list above), from `environ`.
EnvMap process_environment();

/// Values given on the command line: the top layer.
struct Flags {
  /// --config FILE: the YAML file; overrides CONNPOOL_CONFIG.
  std::optional<std::string> config_file;
  /// --env NAME: development, staging or production; overrides CONNPOOL_ENV and the file.
  std::optional<std::string> environment;
  /// --set KEY=VALUE, in order: "pools.cache.max_size=30", "admin.port=9100",
  /// "proxies.side.listen=127.0.0.1:6380".
  std::vector<std::string> set;
};

/// Reads the file named by flags/env (if any) and builds the effective configuration.
Result<Config> load(const EnvMap& env, const Flags& flags = {});

/// As load(), with the YAML text given directly; `file_name` is used in origins and messages.
/// flags.config_file is ignored.
Result<Config> load_from_string(std::string_view yaml, std::string_view file_name,
                                const EnvMap& env, const Flags& flags = {});

}  // namespace connpool::config
