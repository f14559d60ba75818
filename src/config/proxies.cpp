// The `proxies:` section of the YAML file: each proxy's settings parsed and checked against the
// configured pools (see ProxySpec in config.hpp and docs/proxy.md).
#include "sources.hpp"
#include "suggest.hpp"
#include "values.hpp"

#include <algorithm>

namespace connpool::config::detail {

namespace {

template <class T>
Result<void> assign(const Setting& s, const std::string& path, Parsed<T> parsed, T& out) {
  if (!parsed.value) return config_error(s.origin, path, parsed.rule);
  out = std::move(*parsed.value);
  return {};
}

Result<void> apply(const Setting& s, const std::string& path, ProxySpec& p) {
  if (s.key == "pool") return assign(s, path, parse_nonempty(s.value), p.pool);
  if (s.key == "password_env") return assign(s, path, parse_nonempty(s.value), p.password_env);
  if (s.key == "max_clients") return assign(s, path, parse_size(s.value), p.max_clients);
  if (s.key == "max_pinned") return assign(s, path, parse_size(s.value), p.max_pinned);
  if (s.key == "max_request_bytes") {
    return assign(s, path, parse_size(s.value), p.max_request_bytes);
  }
  if (s.key == "max_output_bytes") return assign(s, path, parse_size(s.value), p.max_output_bytes);
  if (s.key == "idle_timeout") {
    return assign(s, path, parse_duration_value(s.value), p.idle_timeout);
  }
  if (s.key == "allow_config_set") {
    return assign(s, path, parse_bool(s.value), p.allow_config_set);
  }
  // listen: one address or a comma-separated list (a YAML list arrives joined).
  p.listen.clear();
  std::string_view rest = s.value;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) p.listen.emplace_back(one);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return {};
}

// A variable cannot spell '-': "web-cache" in the file is WEB_CACHE (web_cache) in the
// environment, as for pools.
bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '-' ? '_' : a[i];
    const char y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string_view> proxy_field_names() {
  return {"pool",
          "listen",
          "max_clients",
          "max_pinned",
          "max_request_bytes",
          "max_output_bytes",
          "idle_timeout",
          "password_env",
          "allow_config_set"};
}

Result<void> check_proxy_key(const Origin& where, const std::string& path, const std::string& key) {
  const auto names = proxy_field_names();
  if (std::find(names.begin(), names.end(), key) != names.end()) return ok();
  std::string rule = "unknown key";
  if (auto guess = closest(key, names)) rule += "; did you mean '" + *guess + "'?";
  return config_error(where, path, rule);
}

Result<std::vector<ProxySpec>> build_proxies(std::initializer_list<const Layer*> layers,
                                             const std::vector<PoolSpec>& pools) {
  std::vector<ProxySpec> out;
  for (const Layer* layer : layers) {
    if (!layer) continue;
    for (const PoolSource& source : layer->proxies) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const ProxySpec& p) { return same_name(p.name, source.name); });
      if (it == out.end()) {
        out.emplace_back();
        it = std::prev(out.end());
        it->name = source.name;
        it->origin = source.origin;
      }
      const std::string prefix = "proxies." + it->name;
      for (const Setting& s : source.settings) {
        if (auto r = apply(s, prefix + "." + s.key, *it); !r) return r.error();
        it->origins.insert_or_assign(s.key, s.origin);
      }
    }
  }
  for (ProxySpec& p : out) {
    const std::string prefix = "proxies." + p.name;
    const Origin& origin = p.origin;
    if (p.pool.empty()) return config_error(origin, prefix + ".pool", "is required");
    if (p.listen.empty()) {
      return config_error(origin, prefix + ".listen", "needs at least one address");
    }
    const auto pool = std::find_if(pools.begin(), pools.end(),
                                   [&](const PoolSpec& spec) { return spec.name == p.pool; });
    // A pool set by a variable or flag is blamed there; in the file, at the proxy's name.
    const Origin pool_origin =
        p.origin_of("pool").kind == Origin::Kind::file ? origin : p.origin_of("pool");
    if (pool == pools.end()) {
      return config_error(pool_origin, prefix + ".pool", "no pool is called '" + p.pool + "'");
    }
    if (pool->backend != Backend::redis) {
      return config_error(pool_origin, prefix + ".pool",
                          "'" + p.pool + "' is not a Redis pool: a proxy forwards to Redis");
    }
    if (p.max_clients == 0 || p.max_request_bytes == 0 || p.max_output_bytes == 0) {
      return config_error(origin, prefix,
                          "max_clients, max_request_bytes and max_output_bytes must be > 0");
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ProxySpec& a, const ProxySpec& b) { return a.name < b.name; });
  return out;
}

}  // namespace connpool::config::detail
