// The one place that reads the real process environment; everything else takes an EnvMap.
#include "connpool/config/load.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace connpool::config {

EnvMap process_environment() {
  static constexpr std::array<std::string_view, 7> kNames = {"CONNPOOL_ENV",
                                                             "CONNPOOL_CONFIG",
                                                             "REDIS_URL",
                                                             "FIRESTORE_EMULATOR_HOST",
                                                             "GOOGLE_CLOUD_PROJECT",
                                                             "CONNPOOL_ADMIN_PORT",
                                                             "CONNPOOL_ADMIN_TOKEN"};
  EnvMap env;
  for (char** p = environ; p && *p; ++p) {
    const std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = entry.substr(0, eq);
    const bool wanted = name.starts_with("CONNPOOL_POOLS__") ||
                        name.starts_with("CONNPOOL_PROXIES__") ||
                        std::find(kNames.begin(), kNames.end(), name) != kNames.end();
    if (wanted) env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace connpool::config
