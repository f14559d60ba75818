#include "common/config_options.hpp"

#include "connpool/config/load.hpp"

#include "common/env_settings.hpp"

#include <ostream>

namespace connpool::cli {

void add_config_options(CLI::App& cmd, ConfigOptions& options) {
  cmd.add_option("--config", options.file,
                 "YAML configuration file (default: $CONNPOOL_CONFIG; without one, pools come "
                 "from REDIS_URL, FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT)");
  cmd.add_option("--env", options.environment,
                 "Environment profile: development, staging or production (overrides "
                 "$CONNPOOL_ENV and the file)");
  cmd.add_option("--set", options.settings,
                 "Override one key, highest precedence: pools.<name>.<key>=VALUE or "
                 "admin.<key>=VALUE (repeatable)");
  add_set_env_option(cmd, options.settings_from_env);
}

std::optional<config::Config> load_config(const ConfigOptions& options, std::ostream& err) {
  config::Flags flags;
  if (!options.file.empty()) flags.config_file = options.file;
  if (!options.environment.empty()) flags.environment = options.environment;
  flags.set = options.settings;
  auto from_env = resolve_set_env(options.settings_from_env);
  if (!from_env) {
    err << "connpool: configuration error: " << from_env.error().message() << "\n";
    return std::nullopt;
  }
  flags.set.insert(flags.set.end(), from_env->begin(), from_env->end());
  auto loaded = config::load(config::process_environment(), flags);
  if (!loaded) {
    err << "connpool: configuration error: " << loaded.error().message() << "\n";
    return std::nullopt;
  }
  return std::move(*loaded);
}

}  // namespace connpool::cli
