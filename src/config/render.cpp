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
  return j.dump(indent) + "\n";
}

}  // namespace connpool::config
