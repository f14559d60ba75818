// Applies the layers in precedence order: built-in defaults < environment profile < file <
// environment variables < flags. Every value is applied as text through the field table, so a
// value breaks the same rule with the same message whichever layer it came from.
#include "connpool/config/defaults.hpp"
#include "connpool/config/load.hpp"

#include "fields.hpp"
#include "sources.hpp"
#include "suggest.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace connpool::config {

namespace {

using namespace detail;

// The emulator accepts any project id; "demo-" ids are the Firebase convention for projects
// that exist only in emulators, so this one can never reach production by accident.
constexpr std::string_view kEmulatorProject = "demo-connpool";

int rank(const Origin& o) {
  return static_cast<int>(o.kind);
}

// CONNPOOL_POOLS__<NAME>__ cannot spell '-', so "web-cache" is addressed as WEB_CACHE.
std::string env_key(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) {
    return static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  });
  return s;
}

class Builder {
 public:
  explicit Builder(const EnvMap& env) : env_(env) {}

  Result<Config> build(const std::optional<Layer>& file, const Layer& env_layer,
                       const Layer& flag_layer) {
    if (auto r = choose_environment(file, env_layer, flag_layer); !r) return r.error();
    if (file) {
      if (auto r = define_pools(*file); !r) return r.error();
      if (auto r = check_references(*file); !r) return r.error();
    }
    // REDIS_URL and friends look at every pool the file and CONNPOOL_POOLS__*__BACKEND define,
    // and may define one that CONNPOOL_POOLS__REDIS__* then refers to.
    if (auto r = define_pools(env_layer); !r) return r.error();
    Layer general;
    if (auto r = well_known_variables(general); !r) return r.error();
    if (auto r = check_references(env_layer); !r) return r.error();
    if (auto r = define_pools(flag_layer); !r) return r.error();
    if (auto r = check_references(flag_layer); !r) return r.error();

    for (PoolSpec& pool : config_.pools) {
      apply_defaults(pool);
      for (const Layer* layer : std::initializer_list<const Layer*>{
               file ? &*file : nullptr, &general, &env_layer, &flag_layer}) {
        if (!layer) continue;
        if (auto r = apply_pool_layer(*layer, pool); !r) return r.error();
      }
      if (auto r = check_pool(pool); !r) return r.error();
    }
    for (const Layer* layer : {file ? &*file : nullptr, &env_layer, &flag_layer}) {
      if (!layer) continue;
      if (auto r = apply_admin_layer(*layer); !r) return r.error();
    }
    std::sort(config_.pools.begin(), config_.pools.end(),
              [](const PoolSpec& a, const PoolSpec& b) { return a.name < b.name; });
    auto proxies = build_proxies({file ? &*file : nullptr, &env_layer, &flag_layer}, config_.pools);
    if (!proxies) return proxies.error();
    config_.proxies = std::move(*proxies);
    return std::move(config_);
  }

 private:
  const std::string* var(std::string_view name) const {
    auto it = env_.find(name);
    return it == env_.end() || it->second.empty() ? nullptr : &it->second;
  }

  Result<void> choose_environment(const std::optional<Layer>& file, const Layer& env_layer,
                                  const Layer& flag_layer) {
    config_.environment = Environment::development;
    config_.environment_origin = Origin::builtin_default();
    for (const Layer* layer : {file ? &*file : nullptr, &env_layer, &flag_layer}) {
      if (!layer || !layer->environment) continue;
      const Setting& s = *layer->environment;
      auto e = parse_environment(s.value);
      if (!e) {
        return config_error(s.origin, "environment",
                            "must be development, staging or production, got '" + s.value + "'");
      }
      config_.environment = *e;
      config_.environment_origin = s.origin;
    }
    return ok();
  }

  PoolSpec* find(std::string_view name) {
    for (PoolSpec& p : config_.pools) {
      if (env_key(p.name) == env_key(name)) return &p;
    }
    return nullptr;
  }

  std::vector<std::string_view> pool_names() const {
    std::vector<std::string_view> names;
    for (const PoolSpec& p : config_.pools) names.push_back(p.name);
    return names;
  }

  static const Setting* backend_setting(const PoolSource& source) {
    for (const Setting& s : source.settings) {
      if (s.key == "backend") return &s;
    }
    return nullptr;
  }

  // A source that names a backend defines its pool (or must agree with the pool's backend).
  Result<void> define_pools(const Layer& layer) {
    for (const PoolSource& source : layer.pools) {
      const Setting* b = backend_setting(source);
      if (!b) continue;
      auto backend = parse_backend(b->value);
      const std::string path = "pools." + source.name + ".backend";
      if (!backend) {
        return config_error(b->origin, path, "must be redis or firestore, got '" + b->value + "'");
      }
      if (PoolSpec* existing = find(source.name)) {
        if (existing->origin_of("backend").kind == Origin::Kind::file &&
            b->origin.kind == Origin::Kind::file) {
          return config_error(source.origin, "pools." + source.name,
                              "clashes with pools." + existing->name + " (defined at " +
                                  existing->origin_of("backend").to_string() +
                                  "): both are addressed as CONNPOOL_POOLS__" +
                                  upper(env_key(source.name)) + "__<FIELD>");
        }
        if (existing->backend != *backend) {
          return config_error(b->origin, "pools." + existing->name + ".backend",
                              "cannot change the backend of a pool (it is " +
                                  std::string(to_string(existing->backend)) + ", set at " +
                                  existing->origin_of("backend").to_string() + ")");
        }
        continue;
      }
      PoolSpec pool;
      pool.name = source.name;
      pool.backend = *backend;
      pool.origins["backend"] = b->origin;
      config_.pools.push_back(std::move(pool));
    }
    return ok();
  }

  // A source that names no backend must refer to a pool defined by this or a lower layer.
  Result<void> check_references(const Layer& layer) {
    for (const PoolSource& source : layer.pools) {
      if (backend_setting(source) || find(source.name)) continue;
      if (source.origin.kind == Origin::Kind::file || source.settings.empty()) {
        return config_error(source.origin, "pools." + source.name + ".backend",
                            "required: redis or firestore");
      }
      std::string rule = "no such pool";
      if (auto guess = closest(source.name, pool_names())) {
        rule += "; did you mean '" + *guess + "'?";
      }
      rule += " (to define it here, also set its backend)";
      return config_error(source.settings.front().origin, "pools." + source.name, rule);
    }
    return ok();
  }

  std::vector<PoolSpec*> pools_of(Backend backend) {
    std::vector<PoolSpec*> out;
    for (PoolSpec& p : config_.pools) {
      if (p.backend == backend) out.push_back(&p);
    }
    return out;
  }

  // REDIS_URL, FIRESTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT. With no pool of their backend
  // they define one (named after the backend); otherwise they configure the existing ones.
  Result<void> well_known_variables(Layer& general) {
    if (const std::string* url = var("REDIS_URL")) {
      const Origin origin = Origin::env("REDIS_URL");
      auto redis = pools_of(Backend::redis);
      PoolSpec* target = find("redis");
      if (target && target->backend != Backend::redis) {
        return config_error(origin, "pools.redis",
                            "REDIS_URL configures the pool named 'redis', but that pool is a " +
                                std::string(to_string(target->backend)) + " pool");
      }
      if (!target && redis.size() == 1) target = redis.front();
      if (!target && redis.size() > 1) {
        std::string names;
        for (PoolSpec* p : redis) names += (names.empty() ? "" : ", ") + p->name;
        return config_error(origin, "pools",
                            "REDIS_URL is ambiguous with several Redis pools (" + names +
                                "); set CONNPOOL_POOLS__<NAME>__URL instead");
      }
      if (!target) target = define("redis", Backend::redis, origin);
      general.pool(target->name, origin).settings.push_back(Setting{"url", *url, origin});
    }
    const std::string* emulator = var("FIRESTORE_EMULATOR_HOST");
    const std::string* project = var("GOOGLE_CLOUD_PROJECT");
    if (emulator || project) {
      // Google's client libraries read these process-wide, so they apply to every Firestore pool.
      auto firestore = pools_of(Backend::firestore);
      if (firestore.empty()) {
        const Origin origin =
            Origin::env(emulator ? "FIRESTORE_EMULATOR_HOST" : "GOOGLE_CLOUD_PROJECT");
        if (PoolSpec* clash = find("firestore")) {
          return config_error(origin, "pools.firestore",
                              "would define the pool 'firestore', but that name is a " +
                                  std::string(to_string(clash->backend)) + " pool");
        }
        firestore.push_back(define("firestore", Backend::firestore, origin));
      }
      for (PoolSpec* p : firestore) {
        PoolSource& source = general.pool(p->name, Origin::env("GOOGLE_CLOUD_PROJECT"));
        if (emulator) {
          source.settings.push_back(
              Setting{"emulator_host", *emulator, Origin::env("FIRESTORE_EMULATOR_HOST")});
        }
        if (project) {
          source.settings.push_back(
              Setting{"project_id", *project, Origin::env("GOOGLE_CLOUD_PROJECT")});
        }
      }
    }
    return ok();
  }

  PoolSpec* define(const std::string& name, Backend backend, const Origin& origin) {
    PoolSpec pool;
    pool.name = name;
    pool.backend = backend;
    pool.origins["backend"] = origin;
    config_.pools.push_back(std::move(pool));
    return &config_.pools.back();
  }

  void apply_defaults(PoolSpec& pool) {
    const Origin backend_origin = pool.origins["backend"];
    pool.pool = builtin_pool_config(pool.backend);
    pool.redis = {};
    pool.firestore = {};
    for (const PoolField& f : pool_fields()) {
      if (!f.only || *f.only == pool.backend) pool.origins[std::string(f.name)] = Origin{};
    }
    pool.origins["backend"] = backend_origin;
    pool.pool.max_size = profile_max_size(config_.environment, pool.backend);
    pool.origins["max_size"] = Origin::profile(config_.environment);
  }

  Result<void> apply_pool_layer(const Layer& layer, PoolSpec& pool) {
    for (const PoolSource& source : layer.pools) {
      if (env_key(source.name) != env_key(pool.name)) continue;
      for (const Setting& s : source.settings) {
        if (s.key == "backend") continue;  // settled by define_pools
        const PoolField* field = find_pool_field(s.key);
        const std::string path = "pools." + pool.name + "." + s.key;
        if (!field) return config_error(s.origin, path, "unknown key");  // readers check first
        if (field->only && *field->only != pool.backend) {
          return config_error(s.origin, path,
                              "only valid for backend " + std::string(to_string(*field->only)) +
                                  " (pool '" + pool.name + "' is " +
                                  std::string(to_string(pool.backend)) + ")");
        }
        if (auto rule = field->set(pool, s.value)) return config_error(s.origin, path, *rule);
        pool.origins[s.key] = s.origin;
      }
    }
    return ok();
  }

  Result<void> apply_admin_layer(const Layer& layer) {
    for (const Setting& s : layer.admin) {
      const AdminField* field = find_admin_field(s.key);
      const std::string path = "admin." + s.key;
      if (!field) return config_error(s.origin, path, "unknown key");
      if (auto rule = field->set(config_.admin, s.value)) {
        return config_error(s.origin, path, *rule);
      }
      config_.admin.origins[s.key] = s.origin;
    }
    return ok();
  }

  // Rules between keys, checked once every layer is applied. An error points at the key set by
  // the highest layer, since that is the one the user most likely just changed.
  Result<void> check_pool(PoolSpec& pool) {
    const std::string prefix = "pools." + pool.name + ".";
    const Origin& defined_at = pool.origins["backend"];
    if (pool.backend == Backend::redis && pool.redis.url.empty()) {
      return config_error(defined_at, prefix + "url",
                          "required for backend redis (e.g. redis://127.0.0.1:6379)");
    }
    if (pool.backend == Backend::firestore && pool.firestore.project_id.empty()) {
      if (pool.firestore.emulator_host.empty()) {
        return config_error(defined_at, prefix + "project_id",
                            "required for backend firestore unless emulator_host is set");
      }
      pool.firestore.project_id = std::string(kEmulatorProject);
    }
    const core::PoolConfig& c = pool.pool;
    if (c.min_size > c.max_size) {
      const Origin min_at = pool.origin_of("min_size");
      const Origin max_at = pool.origin_of("max_size");
      if (rank(min_at) > rank(max_at)) {
        return config_error(min_at, prefix + "min_size",
                            "must be <= max_size (" + std::to_string(c.max_size) + "), got " +
                                std::to_string(c.min_size));
      }
      return config_error(max_at, prefix + "max_size",
                          "must be >= min_size (" + std::to_string(c.min_size) + "), got " +
                              std::to_string(c.max_size));
    }
    if (auto r = c.validate(); !r) {
      // Blame the highest-layer key the core's message names ("min_idle (30) > max_size (20)").
      const std::string& message = r.error().message();
      std::string_view blamed;
      Origin where = defined_at;
      int best = -1;
      for (const PoolField& f : pool_fields()) {
        const auto at = message.find(f.name);
        if (at == std::string::npos) continue;
        const bool whole_word =
            (at == 0 || !(std::isalnum(static_cast<unsigned char>(message[at - 1])) ||
                          message[at - 1] == '_')) &&
            (at + f.name.size() == message.size() ||
             !(std::isalnum(static_cast<unsigned char>(message[at + f.name.size()])) ||
               message[at + f.name.size()] == '_'));
        if (!whole_word) continue;
        const Origin o = pool.origin_of(f.name);
        if (rank(o) > best) {
          best = rank(o);
          blamed = f.name;
          where = o;
        }
      }
      return config_error(
          where, blamed.empty() ? "pools." + pool.name : prefix + std::string(blamed), message);
    }
    return ok();
  }

  const EnvMap& env_;
  Config config_;
};

// dynamic_sizing.enabled still selects reactive sizing (core::PoolConfig::sizing_mode()), with a
// warning naming where it was set and what replaces it.
void warn_deprecated(Config& config) {
  for (const PoolSpec& pool : config.pools) {
    const Origin o = pool.origin_of("dynamic_sizing.enabled");
    if (o.kind == Origin::Kind::builtin || o.kind == Origin::Kind::profile) continue;
    std::string warning = o.to_string() + ": pools." + pool.name +
                          ".dynamic_sizing.enabled is deprecated; use sizing: reactive (the other "
                          "dynamic_sizing keys stay its parameters)";
    warn_once(warning);
    config.warnings.push_back(std::move(warning));
  }
}

Result<Config> build(const std::optional<Layer>& file, const EnvMap& env, const Flags& flags,
                     std::optional<std::string> file_name, Origin file_origin) {
  auto env_layer = read_env_layer(env);
  if (!env_layer) return env_layer.error();
  auto flag_layer = read_flag_layer(flags.environment, flags.set);
  if (!flag_layer) return flag_layer.error();
  Builder builder(env);
  auto config = builder.build(file, *env_layer, *flag_layer);
  if (!config) return config;
  config->file = std::move(file_name);
  config->file_origin = std::move(file_origin);
  warn_deprecated(*config);
  return config;
}

}  // namespace

Result<Config> load_from_string(std::string_view yaml, std::string_view file_name,
                                const EnvMap& env, const Flags& flags) {
  auto layer = read_yaml(yaml, file_name);
  if (!layer) return layer.error();
  return build(*layer, env, flags, std::string(file_name), Origin::flag("--config"));
}

Result<Config> load(const EnvMap& env, const Flags& flags) {
  std::optional<std::string> path;
  Origin path_origin;
  if (flags.config_file) {
    path = *flags.config_file;
    path_origin = Origin::flag("--config");
  } else if (auto it = env.find("CONNPOOL_CONFIG"); it != env.end() && !it->second.empty()) {
    path = it->second;
    path_origin = Origin::env("CONNPOOL_CONFIG");
  }
  if (!path) return build(std::nullopt, env, flags, std::nullopt, Origin{});

  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return Error(errc::invalid_config, *path + ": cannot read the configuration file (named by " +
                                           path_origin.to_string() + "): " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto layer = read_yaml(text.str(), *path);
  if (!layer) return layer.error();
  auto config = build(*layer, env, flags, path, path_origin);
  if (!config) return config;
  if (auto warning = secret_file_warning(*path, *layer)) {
    warn_once(*warning);
    config->warnings.push_back(std::move(*warning));
  }
  return config;
}

}  // namespace connpool::config
