// Configuration options shared by the subcommands that read the configuration (config show,
// check; serve and demo can use them too): --config, --env and --set, and loading with the
// process environment.
#pragma once

#include "connpool/config/config.hpp"

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace connpool::cli {

struct ConfigOptions {
  std::string file;                   ///< --config FILE (empty: CONNPOOL_CONFIG, else none)
  std::string environment;            ///< --env NAME (empty: CONNPOOL_ENV, the file, default)
  std::vector<std::string> settings;  ///< --set KEY=VALUE, repeatable
  std::vector<std::string> settings_from_env;  ///< --set-env KEY=VARIABLE, repeatable
};

/// Adds --config, --env and --set to `cmd`, storing into `options` (which must outlive parsing).
void add_config_options(CLI::App& cmd, ConfigOptions& options);

/// Loads the effective configuration from the process environment and `options`. On a
/// configuration error prints "connpool: configuration error: <where>: <key>: <rule>" to `err`
/// and returns nullopt (the caller exits with kExitConfigError).
std::optional<config::Config> load_config(const ConfigOptions& options, std::ostream& err);

}  // namespace connpool::cli
