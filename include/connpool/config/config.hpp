// connpool::config: the effective configuration of a connpool process (which pools exist, their
// backend settings and PoolConfig, the admin endpoint) and where each value came from.
//
// Built by connpool::config::load() (load.hpp) from five layers, lowest first: built-in defaults,
// the environment profile, the YAML file, environment variables, command-line flags.
// Thread safety: plain values; safe to share read-only between threads once built.
#pragma once

#include "connpool/core/pool_config.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::config {

/// Deployment environment; selects the profile of pool sizes.
enum class Environment { development, staging, production };

/// Which server a pool talks to.
enum class Backend { redis, firestore };

std::string_view to_string(Environment e) noexcept;
std::string_view to_string(Backend b) noexcept;
/// "development" -> Environment::development; nullopt for anything else (exact, lowercase).
std::optional<Environment> parse_environment(std::string_view text) noexcept;
std::optional<Backend> parse_backend(std::string_view text) noexcept;

/// Where one effective value came from. Printed by `connpool config show` and used as the
/// location prefix of error messages.
struct Origin {
  enum class Kind {
    builtin,  ///< built-in default of the backend / of connpool
    profile,  ///< the environment profile (detail: "production")
    file,     ///< the YAML file (detail: "config.yaml:12:15")
    env,      ///< an environment variable (detail: its name)
    flag,     ///< a command-line flag (detail: "--env")
  };
  Kind kind = Kind::builtin;
  std::string detail;

  static Origin builtin_default() { return {Kind::builtin, {}}; }
  static Origin profile(Environment e) {
    return {Kind::profile, std::string(config::to_string(e))};
  }
  static Origin file(std::string_view path, int line, int column);
  static Origin env(std::string_view var) { return {Kind::env, std::string(var)}; }
  static Origin flag(std::string_view name) { return {Kind::flag, std::string(name)}; }

  /// "default", "profile:production", "config.yaml:12:15", "env:REDIS_URL", "flag:--env".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Origin&, const Origin&) = default;
};

/// Redis-specific settings of a pool.
struct RedisSettings {
  /// redis://[user[:password]@]host[:port][/db], rediss:// (TLS), unix:///path,
  /// redis-cluster://host1:port,host2:port (rediss-cluster:// for TLS) or
  /// redis-sentinel://s1:26379,s2:26379/master[/db]. Required. May hold passwords: print it
  /// only through redact_url().
  std::string url;
  /// Let the high-level client pipeline independent commands from many callers on one pooled
  /// connection. Default true.
  bool auto_pipeline = true;
};

/// Firestore-specific settings of a pool.
struct FirestoreSettings {
  /// Google Cloud project. Required unless emulator_host is set (then default "demo-connpool",
  /// a project id the emulator accepts and production never has).
  std::string project_id;
  /// Firestore database id. Default "(default)".
  std::string database = "(default)";
  /// host:port of the Firestore emulator; empty means production Firestore.
  std::string emulator_host;
  /// Send concurrent single-document gets and writes together (BatchGetDocuments / BatchWrite,
  /// firestore::AutoBatchOptions). Default true.
  bool auto_batch = true;
};

/// One named pool: its backend, the backend's settings and the pool policy.
struct PoolSpec {
  std::string name;
  Backend backend = Backend::redis;
  RedisSettings redis;          ///< meaningful when backend == redis
  FirestoreSettings firestore;  ///< meaningful when backend == firestore
  core::PoolConfig pool;
  /// Origin of every key that has a value for this backend ("backend", "url", "max_size", ...).
  std::map<std::string, Origin, std::less<>> origins;

  /// Origin of `key`; builtin default when it was never recorded.
  [[nodiscard]] Origin origin_of(std::string_view key) const;
};

/// The admin HTTP endpoint (metrics, pool stats, health) served by `connpool serve`/`demo`.
struct AdminConfig {
  /// Address to listen on. Default 127.0.0.1 (loopback only).
  std::string bind = "127.0.0.1";
  /// TCP port. Default 9464. 0 means: pick a free port.
  std::uint16_t port = 9464;
  /// Bearer token required on admin requests; empty means no token. A secret: never printed.
  std::string token;
  /// Also require the token on /metrics and /readyz (needs a token). Default false.
  bool protect_all = false;
  /// Host names the admin endpoint answers to besides IP literals and localhost (DNS rebinding
  /// defence); other names get 421. Text form: comma-separated. Default none.
  std::vector<std::string> allowed_hosts;
  /// Most admin connections open at once (idle ones make room for new ones). Default 64.
  std::size_t max_connections = 64;
  /// How long an admin keep-alive connection may sit idle. Default 5 s.
  core::milliseconds idle_timeout{5000};
  std::map<std::string, Origin, std::less<>> origins;

  [[nodiscard]] Origin origin_of(std::string_view key) const;
};

/// One `connpool proxy` that `connpool serve` runs next to its pools (the YAML file's
/// `proxies:` section, CONNPOOL_PROXIES__<NAME>__<KEY> variables and --set
/// proxies.<name>.<key>=VALUE flags; docs/proxy.md#under-connpool-serve).
struct ProxySpec {
  std::string name;
  /// The Redis pool it forwards to (redis://, rediss://, unix://, redis-sentinel:// or
  /// redis-cluster://).
  std::string pool;
  /// host:port or unix:///path, at least one (YAML: a string or a list).
  std::vector<std::string> listen;
  /// Clients at once. Default 10000.
  std::size_t max_clients = 10000;
  /// Pinned clients at once. 0 (default) = the pool's max_size.
  std::size_t max_pinned = 0;
  /// Largest request. Default 64 MiB.
  std::size_t max_request_bytes = 64u << 20;
  /// Replies buffered for a client that does not read. Default 32 MiB.
  std::size_t max_output_bytes = 32u << 20;
  /// Disconnect silent clients after this long. 0 (default) = never.
  core::milliseconds idle_timeout{0};
  /// Name of the environment variable holding the password clients AUTH with; empty = none.
  std::string password_env;
  /// Let CONFIG SET through. Default false.
  bool allow_config_set = false;
  Origin origin;  ///< where the proxy is first named (the file, else a variable or --set)
  /// Where each key was set (for `config show`); absent keys are defaults.
  std::map<std::string, Origin, std::less<>> origins;

  /// Origin of `key`; builtin default when the file does not set it.
  [[nodiscard]] Origin origin_of(std::string_view key) const;
};

/// The effective configuration.
struct Config {
  Environment environment = Environment::development;
  Origin environment_origin;
  /// The YAML file read, if any, and where its name came from (flag --config or CONNPOOL_CONFIG).
  std::optional<std::string> file;
  Origin file_origin;
  /// Pools sorted by name. Empty when nothing is configured.
  std::vector<PoolSpec> pools;
  AdminConfig admin;
  /// Proxies sorted by name (docs/proxy.md). Empty unless the file has `proxies:`.
  std::vector<ProxySpec> proxies;
  /// Warnings about the configuration that do not stop it from loading, e.g. a file that holds
  /// a password and other users can read (load() also writes each to stderr, once).
  std::vector<std::string> warnings;

  /// The pool called `name`, or nullptr.
  [[nodiscard]] const PoolSpec* find(std::string_view name) const;
};

}  // namespace connpool::config
