// The `proxies:` section of the YAML file: each proxy's settings parsed and checked against the
// configured pools (see ProxySpec in config.hpp and docs/proxy.md).
#include "sources.hpp"
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

}  // namespace

Result<std::vector<ProxySpec>> build_proxies(const Layer& file,
                                             const std::vector<PoolSpec>& pools) {
  std::vector<ProxySpec> out;
  for (const PoolSource& source : file.proxies) {
    ProxySpec p;
    p.name = source.name;
    p.origin = source.origin;
    const std::string prefix = "proxies." + source.name;
    for (const Setting& s : source.settings) {
      if (auto r = apply(s, prefix + "." + s.key, p); !r) return r.error();
      p.origins.insert_or_assign(s.key, s.origin);
    }
    if (p.pool.empty()) return config_error(source.origin, prefix + ".pool", "is required");
    if (p.listen.empty()) {
      return config_error(source.origin, prefix + ".listen", "needs at least one address");
    }
    const auto pool = std::find_if(pools.begin(), pools.end(),
                                   [&](const PoolSpec& spec) { return spec.name == p.pool; });
    if (pool == pools.end()) {
      return config_error(source.origin, prefix + ".pool", "no pool is called '" + p.pool + "'");
    }
    if (pool->backend != Backend::redis) {
      return config_error(source.origin, prefix + ".pool",
                          "'" + p.pool + "' is not a Redis pool: a proxy forwards to Redis");
    }
    if (p.max_clients == 0 || p.max_request_bytes == 0 || p.max_output_bytes == 0) {
      return config_error(source.origin, prefix,
                          "max_clients, max_request_bytes and max_output_bytes must be > 0");
    }
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const ProxySpec& a, const ProxySpec& b) { return a.name < b.name; });
  return out;
}

}  // namespace connpool::config::detail
