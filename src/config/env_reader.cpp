// The environment-variable and command-line-flag layers.
#include "fields.hpp"
#include "sources.hpp"
#include "suggest.hpp"

#include <algorithm>

namespace connpool::config::detail {

namespace {

constexpr std::string_view kPoolPrefix = "CONNPOOL_POOLS__";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

Result<void> check_pool_key(const Origin& where, const std::string& path, const std::string& key) {
  if (find_pool_field(key)) return ok();
  std::string rule = "unknown key";
  if (auto guess = closest(key, pool_field_names())) rule += "; did you mean '" + *guess + "'?";
  return config_error(where, path, rule);
}

Result<void> check_admin_key(const Origin& where, const std::string& path, const std::string& key) {
  if (find_admin_field(key)) return ok();
  std::string rule = "unknown key";
  if (auto guess = closest(key, admin_field_names())) rule += "; did you mean '" + *guess + "'?";
  return config_error(where, path, rule);
}

}  // namespace

Result<Layer> read_env_layer(const std::map<std::string, std::string, std::less<>>& env) {
  Layer layer;
  auto get = [&](std::string_view name) -> const std::string* {
    auto it = env.find(name);
    // Empty counts as unset: compose files and CI often define variables as "".
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* v = get("CONNPOOL_ENV")) {
    layer.environment = Setting{"environment", *v, Origin::env("CONNPOOL_ENV")};
  }
  if (const std::string* v = get("CONNPOOL_ADMIN_PORT")) {
    layer.admin.push_back(Setting{"port", *v, Origin::env("CONNPOOL_ADMIN_PORT")});
  }
  if (const std::string* v = get("CONNPOOL_ADMIN_TOKEN")) {
    layer.admin.push_back(Setting{"token", *v, Origin::env("CONNPOOL_ADMIN_TOKEN")});
  }
  // std::map iterates in name order, so the outcome never depends on the environ order.
  for (const auto& [var, value] : env) {
    if (!var.starts_with(kPoolPrefix) || value.empty()) continue;
    const Origin origin = Origin::env(var);
    const std::string_view rest = std::string_view(var).substr(kPoolPrefix.size());
    // Pool names never contain "__", so the first one ends the name; later ones separate a
    // section from its key (CONNPOOL_POOLS__CACHE__CIRCUIT_BREAKER__ENABLED).
    const auto split = rest.find("__");
    if (split == std::string_view::npos || split == 0 || split + 2 == rest.size()) {
      return config_error(origin, "pools", "expected CONNPOOL_POOLS__<NAME>__<FIELD>");
    }
    const std::string name = lower(rest.substr(0, split));
    std::string key;
    const std::string field = lower(rest.substr(split + 2));
    for (std::size_t i = 0; i < field.size(); ++i) {
      const bool separator = field.compare(i, 2, "__") == 0;
      key.push_back(separator ? '.' : field[i]);
      if (separator) ++i;
    }
    if (auto rule = check_pool_name(name)) return config_error(origin, "pools." + name, *rule);
    const std::string path = "pools." + name + "." + key;
    if (auto r = check_pool_key(origin, path, key); !r) return r.error();
    layer.pool(name, origin).settings.push_back(Setting{key, value, origin});
  }
  return layer;
}

Result<Layer> read_flag_layer(const std::optional<std::string>& environment,
                              const std::vector<std::string>& set) {
  Layer layer;
  if (environment) {
    layer.environment = Setting{"environment", *environment, Origin::flag("--env")};
  }
  const Origin origin = Origin::flag("--set");
  for (const std::string& item : set) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return config_error(origin, item, "expected KEY=VALUE, e.g. pools.cache.max_size=30");
    }
    const std::string path = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (path.starts_with("admin.")) {
      const std::string key = path.substr(6);
      if (auto r = check_admin_key(origin, path, key); !r) return r.error();
      layer.admin.push_back(Setting{key, value, origin});
      continue;
    }
    if (path.starts_with("pools.")) {
      const std::string rest = path.substr(6);
      const auto dot = rest.find('.');
      if (dot != std::string::npos && dot != 0 && dot + 1 < rest.size()) {
        const std::string name = rest.substr(0, dot);
        const std::string key = rest.substr(dot + 1);
        if (auto rule = check_pool_name(name)) return config_error(origin, "pools." + name, *rule);
        if (auto r = check_pool_key(origin, path, key); !r) return r.error();
        layer.pool(name, origin).settings.push_back(Setting{key, value, origin});
        continue;
      }
    }
    return config_error(
        origin, path,
        "--set takes pools.<name>.<key>=VALUE or admin.<key>=VALUE (the environment "
        "is set with --env)");
  }
  return layer;
}

}  // namespace connpool::config::detail
