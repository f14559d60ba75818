#include "common/env_settings.hpp"

#include <cstdlib>

namespace connpool::cli {

void add_set_env_option(CLI::App& cmd, std::vector<std::string>& pairs) {
  cmd.add_option("--set-env", pairs,
                 "Like --set, with the value read from an environment variable, for secrets: "
                 "--set-env pools.cache.url=CACHE_REDIS_URL (repeatable; applied after --set)");
}

Result<std::vector<std::string>> resolve_set_env(const std::vector<std::string>& pairs) {
  std::vector<std::string> out;
  for (const std::string& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      return Error(errc::invalid_argument,
                   "--set-env takes KEY=VARIABLE (e.g. pools.cache.url=CACHE_REDIS_URL), got '" +
                       pair + "'");
    }
    const std::string key = pair.substr(0, eq);
    const std::string variable = pair.substr(eq + 1);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || value[0] == '\0') {
      return Error(errc::invalid_argument,
                   "--set-env " + key + ": environment variable " + variable + " is not set");
    }
    out.push_back(key + "=" + value);
  }
  return out;
}

}  // namespace connpool::cli
