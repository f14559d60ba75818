// Pools that come from environment variables: with no file, and on top of a file.
#include "connpool/config/load.hpp"

#include <gtest/gtest.h>

namespace connpool::config {
namespace {

std::vector<std::string> names(const Config& c) {
  std::vector<std::string> out;
  for (const PoolSpec& p : c.pools) out.push_back(p.name + ":" + std::string(to_string(p.backend)));
  return out;
}

struct NoFileCase {
  const char* name;
  EnvMap env;
  std::vector<std::string> pools;
};

class NoFile : public ::testing::TestWithParam<NoFileCase> {};

TEST_P(NoFile, PoolsComeFromTheEnvironmentAlone) {
  auto c = load(GetParam().env, {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->file.has_value());
  EXPECT_EQ(names(*c), GetParam().pools);
}

INSTANTIATE_TEST_SUITE_P(
    Env, NoFile,
    ::testing::Values(
        NoFileCase{"nothing", {}, {}},
        NoFileCase{"empty_values_are_unset", {{"REDIS_URL", ""}, {"GOOGLE_CLOUD_PROJECT", ""}}, {}},
        NoFileCase{"redis", {{"REDIS_URL", "redis://127.0.0.1:6379"}}, {"redis:redis"}},
        NoFileCase{
            "emulator", {{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"}}, {"firestore:firestore"}},
        NoFileCase{"project", {{"GOOGLE_CLOUD_PROJECT", "my-proj"}}, {"firestore:firestore"}},
        NoFileCase{"both",
                   {{"REDIS_URL", "redis://h"}, {"FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"}},
                   {"firestore:firestore", "redis:redis"}},
        NoFileCase{"pool_defined_by_variables",
                   {{"CONNPOOL_POOLS__SESSIONS__BACKEND", "redis"},
                    {"CONNPOOL_POOLS__SESSIONS__URL", "redis://h:6380"}},
                   {"sessions:redis"}},
        NoFileCase{
            "unrelated_variables_ignored", {{"CONNPOOL_LOG_LEVEL", "debug"}, {"HOME", "/"}}, {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(EnvPools, RedisUrlDefinesPoolWithItsOrigin) {
  auto c = load({{"REDIS_URL", "redis://:pw@127.0.0.1:6379/0"}, {"CONNPOOL_ENV", "production"}});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec* p = c->find("redis");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->redis.url, "redis://:pw@127.0.0.1:6379/0");
  EXPECT_EQ(p->origin_of("url").to_string(), "env:REDIS_URL");
  EXPECT_EQ(p->origin_of("backend").to_string(), "env:REDIS_URL");
  EXPECT_EQ(p->pool.max_size, 50u);
  EXPECT_EQ(p->pool.min_size, 5u);
}

TEST(EnvPools, EmulatorPoolGetsAnEmulatorOnlyProject) {
  auto c = load({{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"}});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec* p = c->find("firestore");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->firestore.emulator_host, "127.0.0.1:8080");
  EXPECT_EQ(p->firestore.project_id, "demo-connpool");
  EXPECT_EQ(p->origin_of("project_id").to_string(), "default");

  auto g = load({{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"}, {"GOOGLE_CLOUD_PROJECT", "proj"}});
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->find("firestore")->firestore.project_id, "proj");
  EXPECT_EQ(g->find("firestore")->origin_of("project_id").to_string(), "env:GOOGLE_CLOUD_PROJECT");
}

TEST(EnvPools, RedisUrlOverridesTheOnlyRedisPoolOfTheFile) {
  auto c = load_from_string("pools: {cache: {backend: redis, url: 'redis://file-host'}}\n",
                            "c.yaml", {{"REDIS_URL", "redis://env-host"}});
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->pools.size(), 1u);
  EXPECT_EQ(c->pools[0].redis.url, "redis://env-host");
  EXPECT_EQ(c->pools[0].origin_of("url").to_string(), "env:REDIS_URL");
}

TEST(EnvPools, RedisUrlPrefersThePoolNamedRedis) {
  auto c = load_from_string(
      "pools:\n"
      "  cache: {backend: redis, url: 'redis://a'}\n"
      "  redis: {backend: redis, url: 'redis://b'}\n",
      "c.yaml", {{"REDIS_URL", "redis://env"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("cache")->redis.url, "redis://a");
  EXPECT_EQ(c->find("redis")->redis.url, "redis://env");
}

TEST(EnvPools, RedisUrlAddsAPoolWhenTheFileHasNoRedisPool) {
  auto c = load_from_string("pools: {docs: {backend: firestore, project_id: p}}\n", "c.yaml",
                            {{"REDIS_URL", "redis://env"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(names(*c), (std::vector<std::string>{"docs:firestore", "redis:redis"}));
}

TEST(EnvPools, PoolSpecificVariableBeatsRedisUrl) {
  auto c =
      load({{"REDIS_URL", "redis://general"}, {"CONNPOOL_POOLS__REDIS__URL", "redis://specific"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("redis")->redis.url, "redis://specific");
  EXPECT_EQ(c->find("redis")->origin_of("url").to_string(), "env:CONNPOOL_POOLS__REDIS__URL");
}

TEST(EnvPools, FirestoreVariablesApplyToEveryFirestorePool) {
  auto c = load_from_string(
      "pools:\n"
      "  a: {backend: firestore, project_id: pa}\n"
      "  b: {backend: firestore, project_id: pb, database: other}\n",
      "c.yaml", {{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("a")->firestore.emulator_host, "127.0.0.1:8080");
  EXPECT_EQ(c->find("b")->firestore.emulator_host, "127.0.0.1:8080");
  EXPECT_EQ(c->find("b")->firestore.project_id, "pb");
  EXPECT_EQ(c->find("b")->firestore.database, "other");
}

TEST(EnvPools, DashedPoolNamesAreAddressedWithUnderscores) {
  auto c = load_from_string("pools: {web-cache: {backend: redis, url: 'redis://h'}}\n", "c.yaml",
                            {{"CONNPOOL_POOLS__WEB_CACHE__MAX_SIZE", "7"}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("web-cache")->pool.max_size, 7u);
}

TEST(EnvPools, ProcessEnvironmentKeepsOnlyConnpoolVariables) {
  ::setenv("CONNPOOL_POOLS__X__MAX_SIZE", "3", 1);
  ::setenv("REDIS_URL", "redis://h", 1);
  ::setenv("CONNPOOL_TEST_UNRELATED", "1", 1);
  const EnvMap env = process_environment();
  ::unsetenv("CONNPOOL_POOLS__X__MAX_SIZE");
  ::unsetenv("REDIS_URL");
  ::unsetenv("CONNPOOL_TEST_UNRELATED");
  EXPECT_EQ(env.at("CONNPOOL_POOLS__X__MAX_SIZE"), "3");
  EXPECT_EQ(env.at("REDIS_URL"), "redis://h");
  EXPECT_EQ(env.count("CONNPOOL_TEST_UNRELATED"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
}

}  // namespace
}  // namespace connpool::config
