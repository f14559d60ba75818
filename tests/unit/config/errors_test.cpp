// Every error path, with the exact message: "<where>: <key path>: <rule>".
#include "connpool/config/load.hpp"

#include <gtest/gtest.h>

namespace connpool::config {
namespace {

struct ErrorCase {
  const char* name;
  std::string yaml;
  EnvMap env;
  Flags flags;
  std::string message;
};

std::string redis_pool(const std::string& extra) {
  return "pools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1\n" + extra;
}

class Errors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Errors, NameWhereKeyAndRule) {
  const ErrorCase& ec = GetParam();
  auto c = load_from_string(ec.yaml, "config.yaml", ec.env, ec.flags);
  ASSERT_FALSE(c) << "expected: " << ec.message;
  EXPECT_EQ(c.error().code(), errc::invalid_config);
  EXPECT_EQ(c.error().message(), ec.message);
  // No test case's secret may ever reach a message.
  EXPECT_EQ(c.error().message().find("s3cret"), std::string::npos);
}

const ErrorCase kCases[] = {
    // --- the example of issue 6, on line 12 column 15
    {"max_below_min",
     "# connpool\n#\n#\n#\n#\nenvironment: production\npools:\n  cache:\n    backend: redis\n"
     "    url: redis://127.0.0.1\n    min_size: 5\n    max_size: 3\n",
     {},
     {},
     "config.yaml:12:15: pools.cache.max_size: must be >= min_size (5), got 3"},
    {"min_above_default_max",
     redis_pool("    min_size: 30\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.min_size: must be <= max_size (20), got 30"},
    {"env_max_below_default_min",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__MAX_SIZE", "3"}},
     {},
     "env:CONNPOOL_POOLS__CACHE__MAX_SIZE: pools.cache.max_size: must be >= min_size (5), got 3"},
    {"flag_min_above_env_max",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__MAX_SIZE", "8"}},
     Flags{{}, {}, {"pools.cache.min_size=9"}},
     "flag:--set: pools.cache.min_size: must be <= max_size (8), got 9"},
    // --- keys
    {"unknown_pool_key",
     redis_pool("    max_szie: 5\n"),
     {},
     {},
     "config.yaml:5:5: pools.cache.max_szie: unknown key; did you mean 'max_size'?"},
    {"unknown_top_key",
     "pool:\n  a: 1\n",
     {},
     {},
     "config.yaml:1:1: pool: unknown key; did you mean 'pools'?"},
    {"unknown_top_key_no_guess",
     "colour: blue\n",
     {},
     {},
     "config.yaml:1:1: colour: unknown key (expected one of: environment, pools, admin, proxies)"},
    {"unknown_admin_key",
     "admin:\n  tokne: x\n",
     {},
     {},
     "config.yaml:2:3: admin.tokne: unknown key; did you mean 'token'?"},
    {"duplicate_key",
     redis_pool("    max_size: 5\n    max_size: 6\n"),
     {},
     {},
     "config.yaml:6:5: pools.cache.max_size: duplicate key (first at config.yaml:5:5)"},
    {"key_for_other_backend",
     redis_pool("    project_id: p\n"),
     {},
     {},
     "config.yaml:5:17: pools.cache.project_id: only valid for backend firestore (pool 'cache' is "
     "redis)"},
    {"redis_key_on_firestore",
     "pools:\n  docs: {backend: firestore, project_id: p, url: 'redis://h'}\n",
     {},
     {},
     "config.yaml:2:50: pools.docs.url: only valid for backend redis (pool 'docs' is firestore)"},
    // --- document structure
    {"yaml_syntax",
     "pools: [a\n",
     {},
     {},
     "config.yaml:2:1: YAML syntax error: end of sequence flow not found"},
    {"root_not_mapping",
     "- a\n- b\n",
     {},
     {},
     "config.yaml:1:1: (root): must be a mapping with keys environment, pools, admin, proxies"},
    // --- proxies (docs/proxy.md)
    {"proxy_without_pool",
     redis_pool("proxies:\n  side:\n    listen: 127.0.0.1:6380\n"),
     {},
     {},
     "config.yaml:6:3: proxies.side.pool: is required"},
    {"proxy_unknown_pool",
     redis_pool("proxies:\n  side:\n    pool: nope\n    listen: 127.0.0.1:6380\n"),
     {},
     {},
     "config.yaml:6:3: proxies.side.pool: no pool is called 'nope'"},
    {"proxy_without_listen",
     redis_pool("proxies:\n  side:\n    pool: cache\n"),
     {},
     {},
     "config.yaml:6:3: proxies.side.listen: needs at least one address"},
    {"proxy_unknown_key",
     redis_pool("proxies:\n  side:\n    pool: cache\n    lisen: x\n"),
     {},
     {},
     "config.yaml:8:5: proxies.side.lisen: unknown key; did you mean 'listen'?"},
    {"proxy_bad_timeout",
     redis_pool("proxies:\n  side:\n    pool: cache\n    listen: 127.0.0.1:1\n"
                "    idle_timeout: soon\n"),
     {},
     {},
     "config.yaml:9:19: proxies.side.idle_timeout: invalid duration 'soon': must start with a "
     "whole number"},
    {"pools_not_mapping",
     "pools: [a, b]\n",
     {},
     {},
     "config.yaml:1:8: pools: must be a mapping of pool names to pools"},
    {"pool_not_mapping",
     "pools:\n  cache: redis\n",
     {},
     {},
     "config.yaml:2:10: pools.cache: must be a mapping with at least 'backend'"},
    {"pool_empty",
     "pools:\n  cache:\n",
     {},
     {},
     "config.yaml:2:3: pools.cache: must be a mapping with at least 'backend'"},
    {"bad_pool_name",
     "pools:\n  Cache: {backend: redis, url: 'redis://h'}\n",
     {},
     {},
     "config.yaml:2:3: pools.Cache: pool names must match [a-z][a-z0-9_-]* without '__' (so "
     "CONNPOOL_POOLS__<NAME>__<FIELD> can address them), got 'Cache'"},
    {"clashing_pool_names",
     "pools:\n  a-b: {backend: redis, url: 'redis://h'}\n  a_b: {backend: redis, url: "
     "'redis://h'}\n",
     {},
     {},
     "config.yaml:3:3: pools.a_b: clashes with pools.a-b (defined at config.yaml:2:18): both are "
     "addressed as CONNPOOL_POOLS__A_B__<FIELD>"},
    {"value_is_mapping",
     redis_pool("    max_size: {a: 1}\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.max_size: must be a single value, got a mapping"},
    {"value_is_list",
     redis_pool("    max_size: [1]\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.max_size: must be a single value, got a list"},
    {"value_missing",
     redis_pool("    max_size:\n"),
     {},
     {},
     "config.yaml:5:5: pools.cache.max_size: must have a value"},
    // --- environment
    {"bad_environment",
     "environment: prod\n",
     {},
     {},
     "config.yaml:1:14: environment: must be development, staging or production, got 'prod'"},
    {"bad_connpool_env",
     "",
     {{"CONNPOOL_ENV", "Production"}},
     {},
     "env:CONNPOOL_ENV: environment: must be development, staging or production, got "
     "'Production'"},
    {"bad_env_flag",
     "",
     {},
     Flags{{}, "qa", {}},
     "flag:--env: environment: must be development, staging or production, got 'qa'"},
    // --- backend and required keys
    {"missing_backend",
     "pools:\n  cache:\n    url: redis://h\n",
     {},
     {},
     "config.yaml:2:3: pools.cache.backend: required: redis or firestore"},
    {"bad_backend",
     "pools:\n  cache:\n    backend: mysql\n",
     {},
     {},
     "config.yaml:3:14: pools.cache.backend: must be redis or firestore, got 'mysql'"},
    {"missing_url",
     "pools:\n  cache:\n    backend: redis\n",
     {},
     {},
     "config.yaml:3:14: pools.cache.url: required for backend redis (e.g. redis://127.0.0.1:6379)"},
    {"missing_project",
     "pools:\n  docs:\n    backend: firestore\n",
     {},
     {},
     "config.yaml:3:14: pools.docs.project_id: required for backend firestore unless "
     "emulator_host is set"},
    {"change_backend",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__BACKEND", "firestore"}},
     {},
     "env:CONNPOOL_POOLS__CACHE__BACKEND: pools.cache.backend: cannot change the backend of a pool "
     "(it is redis, set at config.yaml:3:14)"},
    // --- values
    {"url_scheme_redacted",
     "pools:\n  cache: {backend: redis, url: 'http://user:s3cret@h'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: must start with redis://, rediss://, unix://, "
     "redis-cluster://, rediss-cluster:// or "
     "redis-sentinel:// (the value is not shown: it may hold a password)"},
    {"url_without_host",
     "pools:\n  cache: {backend: redis, url: 'redis://:s3cret@'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: must name a host, got 'redis://:***@'"},
    {"url_with_pool_option",
     "pools:\n  cache: {backend: redis, url: 'redis://:s3cret@h/0?max_size=5'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: pool option 'max_size' belongs in the pool's own key "
     "'max_size', not in the URL query"},
    {"url_with_alias_option",
     "pools:\n  cache: {backend: redis, url: 'redis://h?db=1&pool_size=5'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: pool option 'pool_size' belongs in the pool's own key "
     "'max_size', not in the URL query"},
    // --- the Redis URL parsers' own checks, as the runtime will make them
    {"url_unknown_option",
     "pools:\n  cache: {backend: redis, url: 'redis://:s3cret@h?password=s3cret'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis URL option 'password': unknown option"},
    {"url_bad_port",
     "pools:\n  cache: {backend: redis, url: 'redis://:s3cret@h:99999'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis URL: port '99999' is not a number in "
     "1..65535"},
    // --- cluster and sentinel URLs: the matching parser's verdict, never a password
    {"cluster_url_bad_seed_port",
     "pools:\n  cache: {backend: redis, url: 'redis-cluster://:s3cret@h1:7000,h2:x'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis-cluster URL: seed node 2: invalid redis "
     "URL: port 'x' is not a number in 1..65535"},
    {"cluster_url_database",
     "pools:\n  cache: {backend: redis, url: 'redis-cluster://h1:7000/3'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis-cluster URL: path '/3': Redis Cluster has "
     "only database 0 (use '/' or nothing)"},
    {"cluster_url_with_pool_option",
     "pools:\n  cache: {backend: redis, url: "
     "'redis-cluster://:s3cret@h1:7000?read_from=replica&max_size=4'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: pool option 'max_size' belongs in the pool's own key "
     "'max_size', not in the URL query"},
    {"cluster_url_bad_option",
     "pools:\n  cache: {backend: redis, url: 'redis-cluster://h1:7000?read_from=anywhere'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis-cluster URL option 'read_from': "
     "'anywhere' is not primary, replica or nearest"},
    {"sentinel_url_without_master",
     "pools:\n  cache: {backend: redis, url: 'redis-sentinel://:s3cret@h1:26379,h2:26380'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis-sentinel URL: missing the master name "
     "(redis-sentinel://host:26379/mymaster)"},
    {"sentinel_url_bad_refresh",
     "pools:\n  cache: {backend: redis, url: "
     "'redis-sentinel://h1:26379/mymaster?sentinel_password=s3cret&sentinel_refresh=soon'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: invalid redis-sentinel URL option 'sentinel_refresh': "
     "invalid duration 'soon': must start with a whole number"},
    {"sentinel_url_with_pool_option",
     "pools:\n  cache: {backend: redis, url: "
     "'redis-sentinel://:s3cret@h1:26379/mymaster?sentinel_password=s3cret&pool_timeout=1s'}\n",
     {},
     {},
     "config.yaml:2:32: pools.cache.url: pool option 'pool_timeout' belongs in the pool's own key "
     "'acquire_timeout', not in the URL query"},
    {"sentinel_url_env_without_sentinels",
     "",
     {{"REDIS_URL", "redis-sentinel://:s3cret@/mymaster"}},
     {},
     "env:REDIS_URL: pools.redis.url: invalid redis-sentinel URL: no sentinel address "
     "(redis-sentinel://host:26379,...)"},
    {"size_not_number",
     redis_pool("    max_size: ten\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.max_size: must be a whole number >= 0, got 'ten'"},
    {"size_negative",
     redis_pool("    min_size: -1\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.min_size: must be a whole number >= 0, got '-1'"},
    {"duration_no_unit",
     redis_pool("    max_idle_time: 600\n"),
     {},
     {},
     "config.yaml:5:20: pools.cache.max_idle_time: invalid duration '600': unit must be one of ms, "
     "s, m, h"},
    {"duration_bad_unit",
     redis_pool("    acquire_timeout: 5 sec\n"),
     {},
     {},
     "config.yaml:5:22: pools.cache.acquire_timeout: invalid duration '5 sec': unit must be one of "
     "ms, s, m, h"},
    {"ratio_not_number",
     redis_pool("    reconnect_backoff_jitter: lots\n"),
     {},
     {},
     "config.yaml:5:31: pools.cache.reconnect_backoff_jitter: must be a number, got 'lots'"},
    {"bool_bad",
     redis_pool("    auto_pipeline: maybe\n"),
     {},
     {},
     "config.yaml:5:20: pools.cache.auto_pipeline: must be true or false, got 'maybe'"},
    {"idle_order_bad",
     redis_pool("    idle_order: random\n"),
     {},
     {},
     "config.yaml:5:17: pools.cache.idle_order: must be lifo or fifo, got 'random'"},
    {"emulator_host_bad",
     "pools:\n  docs: {backend: firestore, emulator_host: localhost}\n",
     {},
     {},
     "config.yaml:2:45: pools.docs.emulator_host: must be host:port, got 'localhost'"},
    {"empty_project",
     "pools:\n  docs: {backend: firestore, project_id: ''}\n",
     {},
     {},
     "config.yaml:2:42: pools.docs.project_id: must not be empty"},
    // --- PoolConfig::validate(), located at the highest-layer key it names
    {"validate_jitter",
     redis_pool("    max_lifetime_jitter: 0.9\n"),
     {},
     {},
     "config.yaml:5:26: pools.cache.max_lifetime_jitter: max_lifetime_jitter (0.900000) must be in "
     "[0, 0.5]"},
    {"validate_backoff_blames_file_key",
     redis_pool("    reconnect_backoff_initial: 20s\n"),
     {},
     {},
     "config.yaml:5:32: pools.cache.reconnect_backoff_initial: reconnect_backoff_max (10s) < "
     "reconnect_backoff_initial (20s)"},
    {"validate_min_idle",
     redis_pool("    min_idle: 30\n"),
     {},
     {},
     "config.yaml:5:15: pools.cache.min_idle: min_idle (30) > max_size (20)"},
    {"validate_max_zero",
     redis_pool("    min_size: 0\n    max_size: 0\n"),
     {},
     {},
     "config.yaml:6:15: pools.cache.max_size: max_size (0) must be >= 1"},
    {"validate_connect_timeout",
     redis_pool("    connect_timeout: 0\n"),
     {},
     {},
     "config.yaml:5:22: pools.cache.connect_timeout: connect_timeout (0ms) must be > 0"},
    {"validate_leases",
     redis_pool("    max_leases_per_connection: 0\n"),
     {},
     {},
     "config.yaml:5:32: pools.cache.max_leases_per_connection: max_leases_per_connection (0) must "
     "be >= 1"},
    // --- PoolConfig sections
    {"section_unknown_key",
     redis_pool("    circuit_breaker:\n      enabeld: true\n"),
     {},
     {},
     "config.yaml:6:7: pools.cache.circuit_breaker.enabeld: unknown key; did you mean "
     "'enabled'?"},
    {"section_not_mapping",
     redis_pool("    circuit_breaker: true\n"),
     {},
     {},
     "config.yaml:5:22: pools.cache.circuit_breaker: must be a mapping (e.g. circuit_breaker: "
     "{enabled: true})"},
    {"section_bad_window",
     redis_pool("    circuit_breaker: {window: sliding}\n"),
     {},
     {},
     "config.yaml:5:31: pools.cache.circuit_breaker.window: must be count or time, got "
     "'sliding'"},
    {"section_validate",
     redis_pool("    circuit_breaker: {enabled: true, half_open_calls: 0}\n"),
     {},
     {},
     "config.yaml:5:55: pools.cache.circuit_breaker.half_open_calls: "
     "circuit_breaker.half_open_calls (0) must be >= 1"},
    {"section_env_unknown",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__DYNAMIC_SIZING__ENABLE", "true"}},
     {},
     "env:CONNPOOL_POOLS__CACHE__DYNAMIC_SIZING__ENABLE: pools.cache.dynamic_sizing.enable: "
     "unknown key; did you mean 'dynamic_sizing.enabled'?"},
    // --- admin
    {"admin_port_range",
     "admin:\n  port: 70000\n",
     {},
     {},
     "config.yaml:2:9: admin.port: must be a port number in [0, 65535], got '70000'"},
    {"admin_port_env",
     "",
     {{"CONNPOOL_ADMIN_PORT", "http"}},
     {},
     "env:CONNPOOL_ADMIN_PORT: admin.port: must be a port number in [0, 65535], got 'http'"},
    {"admin_not_mapping",
     "admin: 9090\n",
     {},
     {},
     "config.yaml:1:8: admin: must be a mapping with bind, port, token"},
    // --- environment variables
    {"env_unknown_field",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__MAX_SZIE", "5"}},
     {},
     "env:CONNPOOL_POOLS__CACHE__MAX_SZIE: pools.cache.max_szie: unknown key; did you mean "
     "'max_size'?"},
    {"env_unknown_pool",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CAHCE__MAX_SIZE", "5"}},
     {},
     "env:CONNPOOL_POOLS__CAHCE__MAX_SIZE: pools.cahce: no such pool; did you mean 'cache'? (to "
     "define it here, also set its backend)"},
    {"env_malformed",
     "",
     {{"CONNPOOL_POOLS__CACHE", "5"}},
     {},
     "env:CONNPOOL_POOLS__CACHE: pools: expected CONNPOOL_POOLS__<NAME>__<FIELD>"},
    {"env_bad_value",
     redis_pool(""),
     {{"CONNPOOL_POOLS__CACHE__ACQUIRE_TIMEOUT", "soon"}},
     {},
     "env:CONNPOOL_POOLS__CACHE__ACQUIRE_TIMEOUT: pools.cache.acquire_timeout: invalid duration "
     "'soon': must start with a whole number"},
    {"redis_url_ambiguous",
     "pools:\n  a: {backend: redis, url: 'redis://h'}\n  b: {backend: redis, url: 'redis://h'}\n",
     {{"REDIS_URL", "redis://x"}},
     {},
     "env:REDIS_URL: pools: REDIS_URL is ambiguous with several Redis pools (a, b); set "
     "CONNPOOL_POOLS__<NAME>__URL instead"},
    {"redis_url_names_firestore_pool",
     "pools:\n  redis: {backend: firestore, project_id: p}\n",
     {{"REDIS_URL", "redis://x"}},
     {},
     "env:REDIS_URL: pools.redis: REDIS_URL configures the pool named 'redis', but that pool is a "
     "firestore pool"},
    {"redis_url_invalid",
     "",
     {{"REDIS_URL", "s3cret@localhost:6379"}},
     {},
     "env:REDIS_URL: pools.redis.url: must start with redis://, rediss://, unix://, "
     "redis-cluster://, rediss-cluster:// or "
     "redis-sentinel:// (the value is not shown: it may hold a password)"},
    {"emulator_host_env_invalid",
     "",
     {{"FIRESTORE_EMULATOR_HOST", "emulator"}},
     {},
     "env:FIRESTORE_EMULATOR_HOST: pools.firestore.emulator_host: must be host:port, got "
     "'emulator'"},
    // --- flags
    {"set_malformed",
     "",
     {},
     Flags{{}, {}, {"max_size"}},
     "flag:--set: max_size: expected KEY=VALUE, e.g. pools.cache.max_size=30"},
    {"set_environment",
     "",
     {},
     Flags{{}, {}, {"environment=production"}},
     "flag:--set: environment: --set takes pools.<name>.<key>=VALUE, proxies.<name>.<key>=VALUE "
     "or admin.<key>=VALUE (the environment is set with --env)"},
    {"set_unknown_admin",
     "",
     {},
     Flags{{}, {}, {"admin.prot=1"}},
     "flag:--set: admin.prot: unknown key; did you mean 'port'?"},
    {"set_unknown_pool",
     redis_pool(""),
     {},
     Flags{{}, {}, {"pools.other.max_size=3"}},
     "flag:--set: pools.other: no such pool (to define it here, also set its backend)"},
};

INSTANTIATE_TEST_SUITE_P(All, Errors, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LoadErrors, MissingFileNamesTheFileAndWhoNamedIt) {
  auto c = load({}, Flags{"/nonexistent/connpool.yaml", {}, {}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "/nonexistent/connpool.yaml: cannot read the configuration file (named by "
            "flag:--config): No such file or directory");
  auto e = load({{"CONNPOOL_CONFIG", "/nonexistent/c.yaml"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "/nonexistent/c.yaml: cannot read the configuration file (named by "
            "env:CONNPOOL_CONFIG): No such file or directory");
}

}  // namespace
}  // namespace connpool::config
