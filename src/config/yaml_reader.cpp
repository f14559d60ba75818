// The YAML layer. yaml-cpp reports problems by throwing; every exception is caught here and
// turned into a located connpool::Error, so none crosses the public API.
#include "fields.hpp"
#include "sources.hpp"
#include "suggest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

namespace connpool::config::detail {

namespace {

class YamlReader {
 public:
  explicit YamlReader(std::string_view file_name) : file_(file_name) {}

  Result<Layer> read(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return Error(errc::invalid_config, at(e.mark).to_string() + ": YAML syntax error: " + e.msg);
    }
    Layer layer;
    try {
      if (auto r = read_root(root, layer); !r) return r.error();
    } catch (const YAML::Exception& e) {
      // Not expected once the document parsed; kept so nothing escapes.
      return Error(errc::invalid_config, at(e.mark).to_string() + ": " + e.msg);
    }
    return layer;
  }

 private:
  Origin at(const YAML::Mark& mark) const {
    if (mark.is_null()) return Origin::file(file_, 1, 1);
    return Origin::file(file_, mark.line + 1, mark.column + 1);
  }

  // Iterates a mapping, checking that keys are scalars, unique and among `allowed`.
  template <class Visit>
  Result<void> each_key(const YAML::Node& map, std::string_view path,
                        const std::vector<std::string_view>& allowed, Visit visit) {
    std::map<std::string, Origin> seen;
    for (const auto& kv : map) {
      const YAML::Node& key = kv.first;
      const std::string sub_path = path.empty() ? "" : std::string(path) + ".";
      if (!key.IsScalar()) {
        return config_error(at(key.Mark()), path.empty() ? "(root)" : path,
                            "keys must be plain names");
      }
      const std::string name = key.Scalar();
      const std::string key_path = sub_path + name;
      if (auto [it, inserted] = seen.emplace(name, at(key.Mark())); !inserted) {
        return config_error(at(key.Mark()), key_path,
                            "duplicate key (first at " + it->second.to_string() + ")");
      }
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string rule = "unknown key";
        if (auto guess = closest(name, allowed)) {
          rule += "; did you mean '" + *guess + "'?";
        } else {
          rule += " (expected one of: ";
          for (std::size_t i = 0; i < allowed.size(); ++i) {
            rule.append(i ? ", " : "").append(allowed[i]);
          }
          rule += ")";
        }
        return config_error(at(key.Mark()), key_path, rule);
      }
      if (auto r = visit(name, at(key.Mark()), kv.second, key_path); !r) return r;
    }
    return ok();
  }

  Result<Setting> scalar(const std::string& name, const YAML::Node& value, const Origin& key_origin,
                         const std::string& key_path) {
    if (!value.IsDefined() || value.IsNull()) {
      return config_error(key_origin, key_path, "must have a value");
    }
    if (!value.IsScalar()) {
      return config_error(at(value.Mark()), key_path,
                          value.IsMap() ? "must be a single value, got a mapping"
                                        : "must be a single value, got a list");
    }
    return Setting{name, value.Scalar(), at(value.Mark())};
  }

  Result<void> read_root(const YAML::Node& root, Layer& layer) {
    // An empty file configures nothing; that is allowed.
    if (!root.IsDefined() || root.IsNull()) return ok();
    if (!root.IsMap()) {
      return config_error(at(root.Mark()), "(root)",
                          "must be a mapping with keys environment, pools, admin, proxies");
    }
    return each_key(root, "", {"environment", "pools", "admin", "proxies"},
                    [&](const std::string& name, const Origin& key_origin, const YAML::Node& value,
                        const std::string& path) -> Result<void> {
                      if (name == "environment") {
                        auto s = scalar(name, value, key_origin, path);
                        if (!s) return s.error();
                        layer.environment = *s;
                        return ok();
                      }
                      if (name == "pools") return read_pools(value, layer);
                      if (name == "proxies") return read_proxies(value, layer);
                      return read_admin(value, layer);
                    });
  }

  Result<void> read_pools(const YAML::Node& pools, Layer& layer) {
    if (!pools.IsDefined() || pools.IsNull()) return ok();  // `pools:` with nothing: no pools
    if (!pools.IsMap()) {
      return config_error(at(pools.Mark()), "pools", "must be a mapping of pool names to pools");
    }
    return each_key(pools, "pools", {},
                    [&](const std::string& name, const Origin& name_origin, const YAML::Node& body,
                        const std::string& path) -> Result<void> {
                      if (auto rule = check_pool_name(name))
                        return config_error(name_origin, path, *rule);
                      if (!body.IsDefined() || body.IsNull() || !body.IsMap()) {
                        return config_error(body.IsNull() ? name_origin : at(body.Mark()), path,
                                            "must be a mapping with at least 'backend'");
                      }
                      PoolSource& pool = layer.pool(name, name_origin);
                      return read_pool_keys(body, path, "", pool);
                    });
  }

  // The keys of one pool, or of one of its sections ("circuit_breaker"), flattened into dotted
  // setting names ("circuit_breaker.enabled") as environment variables and --set spell them.
  Result<void> read_pool_keys(const YAML::Node& map, const std::string& path,
                              const std::string& section, PoolSource& pool) {
    return each_key(map, path, pool_keys_in(section),
                    [&](const std::string& key, const Origin& k_origin, const YAML::Node& value,
                        const std::string& key_path) -> Result<void> {
                      const std::string name = section.empty() ? key : section + "." + key;
                      if (section.empty() && is_pool_section(key)) {
                        if (!value.IsDefined() || value.IsNull()) return ok();  // an empty section
                        if (!value.IsMap()) {
                          return config_error(
                              at(value.Mark()), key_path,
                              "must be a mapping (e.g. " + key + ": {enabled: true})");
                        }
                        return read_pool_keys(value, key_path, key, pool);
                      }
                      auto s = scalar(name, value, k_origin, key_path);
                      if (!s) return s.error();
                      pool.settings.push_back(*s);
                      return ok();
                    });
  }

  Result<void> read_admin(const YAML::Node& admin, Layer& layer) {
    if (!admin.IsDefined() || admin.IsNull()) return ok();
    if (!admin.IsMap()) {
      return config_error(at(admin.Mark()), "admin", "must be a mapping with bind, port, token");
    }
    return each_key(admin, "admin", admin_field_names(),
                    [&](const std::string& key, const Origin& k_origin, const YAML::Node& value,
                        const std::string& key_path) -> Result<void> {
                      auto s = scalar(key, value, k_origin, key_path);
                      if (!s) return s.error();
                      layer.admin.push_back(*s);
                      return ok();
                    });
  }

  // proxies: {name: {pool: cache, listen: [127.0.0.1:6380, unix:///run/p.sock], ...}}; a
  // list of listen addresses is kept as one comma-separated setting.
  Result<void> read_proxies(const YAML::Node& proxies, Layer& layer) {
    if (!proxies.IsDefined() || proxies.IsNull()) return ok();
    if (!proxies.IsMap()) {
      return config_error(at(proxies.Mark()), "proxies",
                          "must be a mapping of proxy names to proxies");
    }
    return each_key(
        proxies, "proxies", {},
        [&](const std::string& name, const Origin& name_origin, const YAML::Node& body,
            const std::string& path) -> Result<void> {
          if (auto rule = check_pool_name(name)) return config_error(name_origin, path, *rule);
          if (!body.IsDefined() || body.IsNull() || !body.IsMap()) {
            return config_error(body.IsNull() ? name_origin : at(body.Mark()), path,
                                "must be a mapping with at least 'pool' and 'listen'");
          }
          layer.proxies.push_back(PoolSource{name, name_origin, {}});
          PoolSource& proxy = layer.proxies.back();
          return each_key(
              body, path, proxy_field_names(),
              [&](const std::string& key, const Origin& k_origin, const YAML::Node& value,
                  const std::string& key_path) -> Result<void> {
                if (key == "listen" && value.IsSequence()) {
                  std::string joined;
                  for (const auto& item : value) {
                    if (!item.IsScalar()) {
                      return config_error(at(item.Mark()), key_path, "must be a list of addresses");
                    }
                    joined += (joined.empty() ? "" : ",") + item.Scalar();
                  }
                  proxy.settings.push_back(Setting{key, joined, at(value.Mark())});
                  return ok();
                }
                auto s = scalar(key, value, k_origin, key_path);
                if (!s) return s.error();
                proxy.settings.push_back(*s);
                return ok();
              });
        });
  }

  std::string file_;
};

}  // namespace

Result<Layer> read_yaml(std::string_view text, std::string_view file_name) {
  return YamlReader(file_name).read(text);
}

}  // namespace connpool::config::detail
