// `config show` output. Values go through detail::display(), which redacts secrets by kind.
#include "connpool/config/render.hpp"

#include "fields.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace connpool::config {

namespace {

using detail::ValueKind;

struct Row {
  std::string key;
  std::string value;
  std::string source;
};

void append_rows(std::string& out, const std::vector<Row>& rows) {
  std::size_t key_w = 3, value_w = 5;
  for (const Row& r : rows) {
    key_w = std::max(key_w, r.key.size());
    value_w = std::max(value_w, r.value.size());
  }
  auto line = [&](const std::string& k, const std::string& v, const std::string& s) {
    out.append("  ").append(k).append(key_w - k.size() + 2, ' ');
    out.append(v).append(value_w - v.size() + 2, ' ').append(s).append("\n");
  };
  line("KEY", "VALUE", "SOURCE");
  for (const Row& r : rows) line(r.key, r.value.empty() ? "(unset)" : r.value, r.source);
}

bool applies(const detail::PoolField& f, const PoolSpec& pool) {
  return !f.only || *f.only == pool.backend;
}

nlohmann::json typed(ValueKind kind, const std::string& raw) {
  const std::string shown = detail::display(kind, raw);
  switch (kind) {
    case ValueKind::size:
    case ValueKind::port: {
      std::uint64_t v = 0;
      std::from_chars(shown.data(), shown.data() + shown.size(), v);
      return v;
    }
    case ValueKind::ratio: {
      double v = 0;
      std::from_chars(shown.data(), shown.data() + shown.size(), v);
      return v;
    }
    case ValueKind::boolean:
      return shown == "true";
    default:
      return shown;
  }
}

nlohmann::json entry(nlohmann::json value, const Origin& origin) {
  return {{"value", std::move(value)}, {"source", origin.to_string()}};
}

// A proxy's keys in display order (docs/proxy.md). password_env is the *name* of the variable
// holding the password: shown, while the password itself is never read here.
struct ProxyValue {
  std::string_view key;
  ValueKind kind;
  std::string raw;
};

std::vector<ProxyValue> proxy_values(const ProxySpec& p) {
  std::string listen;
  for (const auto& l : p.listen) listen += (listen.empty() ? "" : ", ") + l;
  return {
      {"pool", ValueKind::text, p.pool},
      {"listen", ValueKind::text, listen},
      {"max_clients", ValueKind::size, std::to_string(p.max_clients)},
      {"max_pinned", ValueKind::size, std::to_string(p.max_pinned)},
      {"max_request_bytes", ValueKind::size, std::to_string(p.max_request_bytes)},
      {"max_output_bytes", ValueKind::size, std::to_string(p.max_output_bytes)},
      {"idle_timeout", ValueKind::duration, core::format_duration(p.idle_timeout)},
      {"password_env", ValueKind::text, p.password_env},
      {"allow_config_set", ValueKind::boolean, p.allow_config_set ? "true" : "false"},
  };
}

}  // namespace

std::string render_table(const Config& config) {
  std::string out;
  out += "environment: " + std::string(to_string(config.environment)) + "  (" +
         config.environment_origin.to_string() + ")\n";
  if (config.file) {
    out += "file:        " + *config.file + "  (" + config.file_origin.to_string() + ")\n";
  } else {
    out += "file:        (none; pools come from the environment)\n";
  }
  out += "\nadmin\n";
  std::vector<Row> rows;
  for (const detail::AdminField& f : detail::admin_fields()) {
    rows.push_back({std::string(f.name), detail::display(f.kind, f.get(config.admin)),
                    config.admin.origin_of(f.name).to_string()});
  }
  append_rows(out, rows);
  if (config.pools.empty()) {
    out +=
        "\nno pools configured (set REDIS_URL, FIRESTORE_EMULATOR_HOST or GOOGLE_CLOUD_PROJECT, "
        "or list pools in a config file)\n";
  }
  for (const PoolSpec& pool : config.pools) {
    out += "\npool " + pool.name + " (" + std::string(to_string(pool.backend)) + ")\n";
    rows.clear();
    for (const detail::PoolField& f : detail::pool_fields()) {
      if (!applies(f, pool)) continue;
      rows.push_back({std::string(f.name), detail::display(f.kind, f.get(pool)),
                      pool.origin_of(f.name).to_string()});
    }
    append_rows(out, rows);
  }
  for (const ProxySpec& proxy : config.proxies) {
    out += "\nproxy " + proxy.name + " (-> pool " + proxy.pool + ")\n";
    rows.clear();
    for (const ProxyValue& v : proxy_values(proxy)) {
      rows.push_back(
          {std::string(v.key), detail::display(v.kind, v.raw), proxy.origin_of(v.key).to_string()});
    }
    append_rows(out, rows);
  }
  return out;
}

std::string render_json(const Config& config, int indent) {
  nlohmann::json j;
  j["environment"] = entry(std::string(to_string(config.environment)), config.environment_origin);
  j["file"] = config.file ? entry(*config.file, config.file_origin) : nlohmann::json(nullptr);
  nlohmann::json admin = nlohmann::json::object();
  for (const detail::AdminField& f : detail::admin_fields()) {
    admin[std::string(f.name)] =
        entry(typed(f.kind, f.get(config.admin)), config.admin.origin_of(f.name));
  }
  j["admin"] = std::move(admin);
  nlohmann::json pools = nlohmann::json::object();
  for (const PoolSpec& pool : config.pools) {
    nlohmann::json p = nlohmann::json::object();
    for (const detail::PoolField& f : detail::pool_fields()) {
      if (!applies(f, pool)) continue;
      p[std::string(f.name)] = entry(typed(f.kind, f.get(pool)), pool.origin_of(f.name));
    }
    pools[pool.name] = std::move(p);
  }
  j["pools"] = std::move(pools);
  nlohmann::json proxies = nlohmann::json::object();
  for (const ProxySpec& proxy : config.proxies) {
    nlohmann::json p = nlohmann::json::object();
    for (const ProxyValue& v : proxy_values(proxy)) {
      p[std::string(v.key)] = v.key == "listen"
                                  ? entry(proxy.listen, proxy.origin_of(v.key))
                                  : entry(typed(v.kind, v.raw), proxy.origin_of(v.key));
    }
    proxies[proxy.name] = std::move(p);
  }
  j["proxies"] = std::move(proxies);
  return j.dump(indent) + "\n";
}

}  // namespace connpool::config
