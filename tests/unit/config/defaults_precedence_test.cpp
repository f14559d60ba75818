// Built-in defaults, environment profiles and the precedence of the five layers.
#include "connpool/config/load.hpp"

#include <gtest/gtest.h>

namespace connpool::config {
namespace {

using std::chrono::seconds;

const PoolSpec& pool(const Config& c, std::string_view name) {
  const PoolSpec* p = c.find(name);
  if (!p) ADD_FAILURE() << "no pool " << name;
  static const PoolSpec none;
  return p ? *p : none;
}

TEST(Defaults, RedisAndFirestoreMatchTheOriginalSystem) {
  auto c = load_from_string(
      "pools:\n"
      "  cache: {backend: redis, url: 'redis://127.0.0.1:6379'}\n"
      "  docs: {backend: firestore, project_id: p}\n",
      "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->environment, Environment::development);
  EXPECT_EQ(c->environment_origin.to_string(), "default");
  const PoolSpec& r = pool(*c, "cache");
  EXPECT_EQ(r.pool.min_size, 5u);
  EXPECT_EQ(r.pool.max_size, 20u);
  EXPECT_EQ(r.pool.max_idle_time, seconds(600));
  EXPECT_EQ(r.pool.health_check_interval, seconds(30));
  EXPECT_TRUE(r.redis.auto_pipeline);
  EXPECT_EQ(r.origin_of("min_size").to_string(), "default");
  EXPECT_EQ(r.origin_of("max_size").to_string(), "profile:development");
  EXPECT_EQ(r.origin_of("url").to_string(), "c.yaml:2:32");
  const PoolSpec& f = pool(*c, "docs");
  EXPECT_EQ(f.pool.min_size, 2u);
  EXPECT_EQ(f.pool.max_size, 10u);
  EXPECT_EQ(f.pool.max_idle_time, seconds(300));
  EXPECT_EQ(f.pool.health_check_interval, seconds(60));
  EXPECT_EQ(f.firestore.database, "(default)");
  EXPECT_TRUE(f.firestore.auto_batch);
  // Fields the original did not set keep the core's defaults.
  EXPECT_EQ(r.pool.acquire_timeout, core::PoolConfig{}.acquire_timeout);
  EXPECT_EQ(f.pool.max_lifetime, core::PoolConfig{}.max_lifetime);
  EXPECT_EQ(r.pool.max_leases_per_connection, 1u);
  EXPECT_EQ(f.pool.max_leases_per_connection, 100u);  // one gRPC channel, many streams
}

TEST(Defaults, FirestoreAutoBatchingIsTurnedOffByTheFileOrTheEnvironment) {
  auto file = load_from_string(
      "pools:\n  docs: {backend: firestore, project_id: p, auto_batch: false}\n", "c.yaml", {});
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_FALSE(pool(*file, "docs").firestore.auto_batch);
  EnvMap env;
  env["CONNPOOL_POOLS__DOCS__AUTO_BATCH"] = "false";
  auto from_env =
      load_from_string("pools:\n  docs: {backend: firestore, project_id: p}\n", "c.yaml", env);
  ASSERT_TRUE(from_env) << from_env.error().message();
  EXPECT_FALSE(pool(*from_env, "docs").firestore.auto_batch);
  auto redis = load_from_string(
      "pools:\n  cache: {backend: redis, url: 'redis://h', auto_batch: false}\n", "c.yaml", {});
  EXPECT_FALSE(redis) << "auto_batch is a Firestore key";
}

struct ProfileCase {
  const char* environment;
  std::size_t redis_max;
  std::size_t firestore_max;
};

class Profiles : public ::testing::TestWithParam<ProfileCase> {};

TEST_P(Profiles, SetMaxSizePerBackend) {
  const ProfileCase& pc = GetParam();
  auto c = load_from_string("environment: " + std::string(pc.environment) +
                                "\npools:\n"
                                "  r: {backend: redis, url: 'redis://h'}\n"
                                "  f: {backend: firestore, project_id: p}\n",
                            "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(pool(*c, "r").pool.max_size, pc.redis_max);
  EXPECT_EQ(pool(*c, "f").pool.max_size, pc.firestore_max);
  EXPECT_EQ(pool(*c, "r").origin_of("max_size").to_string(),
            "profile:" + std::string(pc.environment));
  EXPECT_EQ(pool(*c, "r").pool.min_size, 5u);  // profiles change max_size only
}

INSTANTIATE_TEST_SUITE_P(Original, Profiles,
                         ::testing::Values(ProfileCase{"production", 50, 20},
                                           ProfileCase{"staging", 20, 10},
                                           ProfileCase{"development", 20, 10}));

// One key (pools.cache.max_size) set at each combination of layers: the highest layer wins and
// is recorded as the origin.
struct LayerCase {
  const char* name;
  bool in_file;
  bool in_env;
  bool in_flag;
  const char* environment_flag;
  std::size_t expected;
  const char* origin;
};

class Precedence : public ::testing::TestWithParam<LayerCase> {};

TEST_P(Precedence, HighestLayerWins) {
  const LayerCase& lc = GetParam();
  std::string yaml = "pools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1\n";
  if (lc.in_file) yaml += "    max_size: 30\n";
  EnvMap env;
  if (lc.in_env) env["CONNPOOL_POOLS__CACHE__MAX_SIZE"] = "40";
  Flags flags;
  if (lc.in_flag) flags.set.push_back("pools.cache.max_size=60");
  if (lc.environment_flag) flags.environment = lc.environment_flag;
  auto c = load_from_string(yaml, "config.yaml", env, flags);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(pool(*c, "cache").pool.max_size, lc.expected);
  EXPECT_EQ(pool(*c, "cache").origin_of("max_size").to_string(), lc.origin);
}

INSTANTIATE_TEST_SUITE_P(
    Layers, Precedence,
    ::testing::Values(
        LayerCase{"profile_only", false, false, false, nullptr, 20, "profile:development"},
        LayerCase{"profile_production", false, false, false, "production", 50,
                  "profile:production"},
        LayerCase{"file_beats_profile", true, false, false, "production", 30, "config.yaml:5:15"},
        LayerCase{"env_beats_file", true, true, false, nullptr, 40,
                  "env:CONNPOOL_POOLS__CACHE__MAX_SIZE"},
        LayerCase{"flag_beats_env", true, true, true, nullptr, 60, "flag:--set"},
        LayerCase{"flag_beats_file", true, false, true, nullptr, 60, "flag:--set"},
        LayerCase{"env_beats_profile", false, true, false, "staging", 40,
                  "env:CONNPOOL_POOLS__CACHE__MAX_SIZE"}),
    [](const auto& info) { return std::string(info.param.name); });

struct EnvCase {
  const char* name;
  const char* in_file;
  const char* in_env;
  const char* in_flag;
  Environment expected;
  const char* origin;
};

class EnvironmentPrecedence : public ::testing::TestWithParam<EnvCase> {};

TEST_P(EnvironmentPrecedence, HighestLayerWins) {
  const EnvCase& ec = GetParam();
  std::string yaml = ec.in_file ? "environment: " + std::string(ec.in_file) + "\n" : "";
  EnvMap env;
  if (ec.in_env) env["CONNPOOL_ENV"] = ec.in_env;
  Flags flags;
  if (ec.in_flag) flags.environment = ec.in_flag;
  auto c = load_from_string(yaml, "c.yaml", env, flags);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->environment, ec.expected);
  EXPECT_EQ(c->environment_origin.to_string(), ec.origin);
}

INSTANTIATE_TEST_SUITE_P(
    Layers, EnvironmentPrecedence,
    ::testing::Values(
        EnvCase{"builtin", nullptr, nullptr, nullptr, Environment::development, "default"},
        EnvCase{"file", "staging", nullptr, nullptr, Environment::staging, "c.yaml:1:14"},
        EnvCase{"env_beats_file", "staging", "production", nullptr, Environment::production,
                "env:CONNPOOL_ENV"},
        EnvCase{"flag_beats_env", "staging", "production", "development", Environment::development,
                "flag:--env"},
        EnvCase{"empty_env_is_unset", "staging", "", nullptr, Environment::staging, "c.yaml:1:14"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Precedence, EnvironmentProfileFollowsTheEffectiveEnvironment) {
  // The file says staging, CONNPOOL_ENV says production: the production profile applies.
  auto c =
      load_from_string("environment: staging\npools: {r: {backend: redis, url: 'redis://h'}}\n",
                       "c.yaml", {{"CONNPOOL_ENV", "production"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(pool(*c, "r").pool.max_size, 50u);
}

TEST(Precedence, EveryPoolKeyCanBeSetFromEachLayer) {
  auto c = load_from_string(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://127.0.0.1\n"
      "    auto_pipeline: false\n"
      "    min_size: 1\n"
      "    max_size: 8\n"
      "    min_idle: 2\n"
      "    acquire_timeout: 250ms\n"
      "    connect_timeout: 2s\n"
      "    validation_timeout: 1s\n"
      "    max_idle_time: 10m\n"
      "    max_lifetime: 1h\n"
      "    max_lifetime_jitter: 0.25\n"
      "    health_check_interval: 15s\n"
      "    validate_after_idle: 0\n"
      "    leak_detection_threshold: 30s\n"
      "    reconnect_backoff_initial: 50ms\n"
      "    reconnect_backoff_max: 5s\n"
      "    reconnect_backoff_multiplier: 1.5\n"
      "    reconnect_backoff_jitter: 0.1\n"
      "    min_size_backoff_cap: 250ms\n"
      "    idle_order: fifo\n"
      "    max_leases_per_connection: 64\n",
      "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec& p = pool(*c, "cache");
  using std::chrono::milliseconds;
  EXPECT_FALSE(p.redis.auto_pipeline);
  EXPECT_EQ(p.pool.min_size, 1u);
  EXPECT_EQ(p.pool.max_size, 8u);
  EXPECT_EQ(p.pool.min_idle, 2u);
  EXPECT_EQ(p.pool.acquire_timeout, milliseconds(250));
  EXPECT_EQ(p.pool.connect_timeout, milliseconds(2000));
  EXPECT_EQ(p.pool.validation_timeout, milliseconds(1000));
  EXPECT_EQ(p.pool.max_idle_time, milliseconds(600000));
  EXPECT_EQ(p.pool.max_lifetime, milliseconds(3600000));
  EXPECT_DOUBLE_EQ(p.pool.max_lifetime_jitter, 0.25);
  EXPECT_EQ(p.pool.health_check_interval, milliseconds(15000));
  EXPECT_EQ(p.pool.validate_after_idle, milliseconds(0));
  EXPECT_EQ(p.pool.leak_detection_threshold, milliseconds(30000));
  EXPECT_EQ(p.pool.reconnect_backoff_initial, milliseconds(50));
  EXPECT_EQ(p.pool.reconnect_backoff_max, milliseconds(5000));
  EXPECT_DOUBLE_EQ(p.pool.reconnect_backoff_multiplier, 1.5);
  EXPECT_DOUBLE_EQ(p.pool.reconnect_backoff_jitter, 0.1);
  EXPECT_EQ(p.pool.min_size_backoff_cap, milliseconds(250));
  EXPECT_EQ(p.pool.idle_order, core::IdleOrder::fifo);
  EXPECT_EQ(p.pool.max_leases_per_connection, 64u);
  EXPECT_EQ(p.origin_of("idle_order").to_string(), "c.yaml:23:17");

  // The same keys through environment variables and flags override the file.
  auto o = load_from_string(
      "pools: {cache: {backend: redis, url: 'redis://h', idle_order: fifo}}\n", "c.yaml",
      {{"CONNPOOL_POOLS__CACHE__IDLE_ORDER", "lifo"},
       {"CONNPOOL_POOLS__CACHE__ACQUIRE_TIMEOUT", "1s"}},
      Flags{{}, {}, {"pools.cache.acquire_timeout=2s", "admin.port=9100"}});
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(pool(*o, "cache").pool.idle_order, core::IdleOrder::lifo);
  EXPECT_EQ(pool(*o, "cache").pool.acquire_timeout, milliseconds(2000));
  EXPECT_EQ(o->admin.port, 9100);
  EXPECT_EQ(o->admin.origin_of("port").to_string(), "flag:--set");
}

TEST(Precedence, SectionKeysFromEachLayer) {
  auto c = load_from_string(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://h\n"
      "    circuit_breaker:\n"
      "      enabled: true\n"
      "      window: time\n"
      "      window_duration: 30s\n"
      "      failure_rate_threshold: 0.25\n"
      "    dynamic_sizing: {scale_up_step: 4}\n",
      "c.yaml",
      {{"CONNPOOL_POOLS__CACHE__CIRCUIT_BREAKER__OPEN_DURATION", "2s"},
       {"CONNPOOL_POOLS__CACHE__DYNAMIC_SIZING__ENABLED", "true"}},
      Flags{{}, {}, {"pools.cache.dynamic_sizing.scale_up_step=6"}});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec& p = pool(*c, "cache");
  using std::chrono::milliseconds;
  EXPECT_TRUE(p.pool.circuit_breaker.enabled);
  EXPECT_EQ(p.pool.circuit_breaker.window, core::CircuitBreakerConfig::Window::time);
  EXPECT_EQ(p.pool.circuit_breaker.window_duration, milliseconds(30000));
  EXPECT_DOUBLE_EQ(p.pool.circuit_breaker.failure_rate_threshold, 0.25);
  EXPECT_EQ(p.pool.circuit_breaker.open_duration, milliseconds(2000));
  EXPECT_TRUE(p.pool.dynamic_sizing.enabled);
  EXPECT_EQ(p.pool.dynamic_sizing.scale_up_step, 6u);
  EXPECT_EQ(p.origin_of("circuit_breaker.window").to_string(), "c.yaml:7:15");
  EXPECT_EQ(p.origin_of("circuit_breaker.open_duration").to_string(),
            "env:CONNPOOL_POOLS__CACHE__CIRCUIT_BREAKER__OPEN_DURATION");
  EXPECT_EQ(p.origin_of("dynamic_sizing.scale_up_step").to_string(), "flag:--set");
  EXPECT_EQ(p.origin_of("circuit_breaker.half_open_calls").to_string(), "default");
  // Off by default, as in the core.
  auto d = load({{"REDIS_URL", "redis://h"}});
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_FALSE(d->find("redis")->pool.circuit_breaker.enabled);
  EXPECT_FALSE(d->find("redis")->pool.dynamic_sizing.enabled);
}

TEST(Precedence, SizingModeAndPredictiveParametersFromEachLayer) {
  auto c = load_from_string(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://h\n"
      "    sizing: predictive\n"
      "    predictive: {horizon: 2s, headroom: 0.5}\n",
      "c.yaml", {{"CONNPOOL_POOLS__CACHE__PREDICTIVE__SCALE_DOWN_DELAY", "10s"}},
      Flags{{}, {}, {"pools.cache.predictive.sample_interval=50ms"}});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec& p = pool(*c, "cache");
  using std::chrono::milliseconds;
  EXPECT_EQ(p.pool.sizing, core::SizingMode::predictive);
  EXPECT_EQ(p.pool.predictive.horizon, milliseconds(2000));
  EXPECT_DOUBLE_EQ(p.pool.predictive.headroom, 0.5);
  EXPECT_EQ(p.pool.predictive.scale_down_delay, milliseconds(10000));
  EXPECT_EQ(p.pool.predictive.sample_interval, milliseconds(50));
  EXPECT_EQ(p.pool.predictive.level_time_constant, milliseconds(1000));  // core default
  EXPECT_EQ(p.origin_of("sizing").to_string(), "c.yaml:5:13");
  EXPECT_EQ(p.origin_of("predictive.scale_down_delay").to_string(),
            "env:CONNPOOL_POOLS__CACHE__PREDICTIVE__SCALE_DOWN_DELAY");
  EXPECT_TRUE(c->warnings.empty());

  // A bad mode names the key and the choices; a bad parameter of the mode in use names it.
  auto bad = load_from_string(
      "pools:\n  cache: {backend: redis, url: 'redis://h', sizing: smart}\n", "c.yaml", {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("sizing"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("fixed, reactive or predictive"), std::string::npos)
      << bad.error().message();
  auto zero =
      load_from_string("pools:\n  cache: {backend: redis, url: 'redis://h', sizing: predictive}\n",
                       "c.yaml", {{"CONNPOOL_POOLS__CACHE__PREDICTIVE__HORIZON", "0"}});
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message().find("predictive.horizon"), std::string::npos)
      << zero.error().message();
  // Not in the URL query: the loader points at the pool key.
  auto query = load_from_string(
      "pools:\n  cache: {backend: redis, url: 'redis://h/0?sizing=predictive'}\n", "c.yaml", {});
  ASSERT_FALSE(query);
  EXPECT_NE(query.error().message().find("pool's own key 'sizing'"), std::string::npos)
      << query.error().message();
}

TEST(Precedence, DeprecatedDynamicSizingEnabledMeansReactiveWithAWarning) {
  auto c = load_from_string(
      "pools:\n  cache:\n    backend: redis\n    url: redis://h\n"
      "    dynamic_sizing: {enabled: true}\n",
      "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec& p = pool(*c, "cache");
  EXPECT_EQ(p.pool.sizing_mode(), core::SizingMode::reactive);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.yaml:5:"), std::string::npos) << c->warnings[0];
  EXPECT_NE(c->warnings[0].find("deprecated; use sizing: reactive"), std::string::npos)
      << c->warnings[0];
}

TEST(Precedence, AdminFromEachLayer) {
  const std::string yaml = "admin:\n  bind: 127.0.0.2\n  port: 9200\n  token: from-file\n";
  auto a = load_from_string(yaml, "c.yaml", {});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->admin.bind, "127.0.0.2");
  EXPECT_EQ(a->admin.port, 9200);
  EXPECT_EQ(a->admin.token, "from-file");
  EXPECT_EQ(a->admin.origin_of("port").to_string(), "c.yaml:3:9");

  auto b = load_from_string(
      yaml, "c.yaml", {{"CONNPOOL_ADMIN_PORT", "9300"}, {"CONNPOOL_ADMIN_TOKEN", "from-env"}});
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->admin.port, 9300);
  EXPECT_EQ(b->admin.token, "from-env");
  EXPECT_EQ(b->admin.origin_of("token").to_string(), "env:CONNPOOL_ADMIN_TOKEN");
  EXPECT_EQ(b->admin.origin_of("bind").to_string(), "c.yaml:2:9");

  auto d = load_from_string("", "c.yaml", {});
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->admin.bind, "127.0.0.1");
  EXPECT_EQ(d->admin.port, 9464);
  EXPECT_EQ(d->admin.token, "");
  EXPECT_EQ(d->admin.origin_of("bind").to_string(), "default");
}

}  // namespace
}  // namespace connpool::config
