#include "sources.hpp"

#include <algorithm>

namespace connpool::config::detail {

PoolSource& Layer::pool(const std::string& name, const Origin& origin) {
  for (PoolSource& p : pools) {
    if (p.name == name) return p;
  }
  pools.push_back(PoolSource{name, origin, {}});
  return pools.back();
}

PoolSource& Layer::proxy(const std::string& name, const Origin& origin) {
  for (PoolSource& p : proxies) {
    if (p.name == name) return p;
  }
  proxies.push_back(PoolSource{name, origin, {}});
  return proxies.back();
}

Error config_error(const Origin& where, std::string_view key_path, std::string_view rule) {
  std::string message = where.to_string();
  message.append(": ").append(key_path).append(": ").append(rule);
  return Error(errc::invalid_config, std::move(message));
}

std::optional<std::string> check_pool_name(std::string_view name) {
  const bool starts_ok = !name.empty() && name[0] >= 'a' && name[0] <= 'z';
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!starts_ok || !chars_ok || name.find("__") != std::string_view::npos) {
    return "pool names must match [a-z][a-z0-9_-]* without '__' (so "
           "CONNPOOL_POOLS__<NAME>__<FIELD> "
           "can address them), got '" +
           std::string(name) + "'";
  }
  return std::nullopt;
}

}  // namespace connpool::config::detail
