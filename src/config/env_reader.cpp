// The environment-variable and command-line-flag layers.
#include "fields.hpp"
#include "sources.hpp"
#include "suggest.hpp"

#include <algorithm>

namespace connpool::config::detail {

namespace {

constexpr std::string_view kPoolPrefix = "CONNPOOL_POOLS__";
constexpr std::string_view kProxyPrefix = "CONNPOOL_PROXIES__";

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

struct NamedKey {
  std::string name;
  std::string key;
};

// CONNPOOL_POOLS__<NAME>__<FIELD> / CONNPOOL_PROXIES__<NAME>__<KEY>, lower-cased. Names never
// contain "__", so the first one ends the name; later ones separate a section from its key
// (CONNPOOL_POOLS__CACHE__CIRCUIT_BREAKER__ENABLED is circuit_breaker.enabled).
Result<NamedKey> split_variable(const std::string& var, std::string_view prefix,
                                const std::string& section, std::string_view usage) {
  const Origin origin = Origin::env(var);
  const std::string_view rest = std::string_view(var).substr(prefix.size());
  const auto split = rest.find("__");
  if (split == std::string_view::npos || split == 0 || split + 2 == rest.size()) {
    return config_error(origin, section, "expected " + std::string(usage));
  }
  NamedKey out{lower(rest.substr(0, split)), {}};
  const std::string field = lower(rest.substr(split + 2));
  for (std::size_t i = 0; i < field.size(); ++i) {
    const bool separator = field.compare(i, 2, "__") == 0;
    out.key.push_back(separator ? '.' : field[i]);
    if (separator) ++i;
  }
  if (auto rule = check_pool_name(out.name)) {
    return config_error(origin, section + "." + out.name, *rule);
  }
  return out;
}

// "<section>.<name>.<key>" of a --set flag, when `path` has that shape.
std::optional<NamedKey> split_flag(const std::string& path, std::string_view section) {
  if (!path.starts_with(section) || path.size() <= section.size() || path[section.size()] != '.') {
    return std::nullopt;
  }
  const std::string rest = path.substr(section.size() + 1);
  const auto dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 >= rest.size()) return std::nullopt;
  return NamedKey{rest.substr(0, dot), rest.substr(dot + 1)};
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
    if (value.empty()) continue;
    const Origin origin = Origin::env(var);
    if (var.starts_with(kProxyPrefix)) {
      auto v = split_variable(var, kProxyPrefix, "proxies", "CONNPOOL_PROXIES__<NAME>__<KEY>");
      if (!v) return v.error();
      const std::string path = "proxies." + v->name + "." + v->key;
      if (auto r = check_proxy_key(origin, path, v->key); !r) return r.error();
      layer.proxy(v->name, origin).settings.push_back(Setting{v->key, value, origin});
      continue;
    }
    if (!var.starts_with(kPoolPrefix)) continue;
    auto v = split_variable(var, kPoolPrefix, "pools", "CONNPOOL_POOLS__<NAME>__<FIELD>");
    if (!v) return v.error();
    const std::string path = "pools." + v->name + "." + v->key;
    if (auto r = check_pool_key(origin, path, v->key); !r) return r.error();
    layer.pool(v->name, origin).settings.push_back(Setting{v->key, value, origin});
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
    if (auto p = split_flag(path, "proxies")) {
      if (auto rule = check_pool_name(p->name)) {
        return config_error(origin, "proxies." + p->name, *rule);
      }
      if (auto r = check_proxy_key(origin, path, p->key); !r) return r.error();
      layer.proxy(p->name, origin).settings.push_back(Setting{p->key, value, origin});
      continue;
    }
    if (auto p = split_flag(path, "pools")) {
      if (auto rule = check_pool_name(p->name))
        return config_error(origin, "pools." + p->name, *rule);
      if (auto r = check_pool_key(origin, path, p->key); !r) return r.error();
      layer.pool(p->name, origin).settings.push_back(Setting{p->key, value, origin});
      continue;
    }
    return config_error(origin, path,
                        "--set takes pools.<name>.<key>=VALUE, proxies.<name>.<key>=VALUE or "
                        "admin.<key>=VALUE (the environment is set with --env)");
  }
  return layer;
}

}  // namespace connpool::config::detail
