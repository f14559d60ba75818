// A Redis pool's `url` may name one server (redis://, rediss://, unix://), a Redis Cluster
// (redis-cluster://, rediss-cluster://) or a master behind Sentinels (redis-sentinel://); each is
// checked by its own parser at load time, and `config show` never prints its passwords.
#include "connpool/config/load.hpp"
#include "connpool/config/render.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace connpool::config {
namespace {

Result<Config> load_url(const std::string& url) {
  return load_from_string("pools:\n  cache:\n    backend: redis\n    url: '" + url + "'\n",
                          "config.yaml", {}, {});
}

class Accepted : public ::testing::TestWithParam<const char*> {};

TEST_P(Accepted, LoadsWithTheUrlUnchanged) {
  auto c = load_url(GetParam());
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->pools.size(), 1u);
  EXPECT_EQ(c->pools[0].redis.url, GetParam());
  EXPECT_EQ(c->pools[0].origin_of("url").to_string(), "config.yaml:4:10");
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, Accepted,
    ::testing::Values(
        "redis://127.0.0.1:6379/0", "rediss://user:pw@cache.example:6380/2",
        "unix:///run/redis/redis.sock?db=1", "redis-cluster://127.0.0.1:7000,127.0.0.1:7001",
        "redis-cluster://user:pw@h1:7000,h2/?read_from=replica&max_redirects=3",
        "rediss-cluster://h1:7000?tls_verify=false",
        "redis-sentinel://s1:26379,s2:26380,s3/mymaster",
        "redis-sentinel://:pw@s1/mymaster/2?sentinel_password=sp&sentinel_refresh=2s"));

TEST(RedisUrlKinds, ReadFromTheEnvironmentToo) {
  auto c = load({{"REDIS_URL", "redis-cluster://127.0.0.1:7000"}}, {});
  ASSERT_TRUE(c) << c.error().message();
  const PoolSpec* p = c->find("redis");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->redis.url, "redis-cluster://127.0.0.1:7000");
  EXPECT_EQ(p->origin_of("url").to_string(), "env:REDIS_URL");
}

TEST(RedisUrlKinds, PoolKeysStillApplyToClusterAndSentinelPools) {
  auto c = load_from_string(
      "pools:\n"
      "  shards: {backend: redis, url: 'redis-cluster://h1:7000', max_size: 7}\n"
      "  ha: {backend: redis, url: 'redis-sentinel://s1/mymaster', acquire_timeout: 150ms,\n"
      "       auto_pipeline: false}\n",
      "config.yaml", {}, {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("shards")->pool.max_size, 7u);
  EXPECT_EQ(c->find("ha")->pool.acquire_timeout, std::chrono::milliseconds(150));
  EXPECT_FALSE(c->find("ha")->redis.auto_pipeline);
}

TEST(RedisUrlKinds, ConfigShowRedactsEveryPassword) {
  auto c = load_from_string(
      "pools:\n"
      "  shards: {backend: redis, url: 'redis-cluster://app:s3cret-a@h1:7000,h2:7001/'}\n"
      "  ha: {backend: redis, url: "
      "'redis-sentinel://:s3cret-b@s1,s2/mymaster?sentinel_password=s3cret-c'}\n",
      "config.yaml", {}, {});
  ASSERT_TRUE(c) << c.error().message();
  const std::string table = render_table(*c);
  EXPECT_EQ(table.find("s3cret"), std::string::npos) << table;
  EXPECT_NE(table.find("redis-cluster://app:***@h1:7000,h2:7001/"), std::string::npos) << table;
  EXPECT_NE(table.find("redis-sentinel://:***@s1,s2/mymaster?sentinel_password=***"),
            std::string::npos)
      << table;
  const std::string json = render_json(*c);
  EXPECT_EQ(json.find("s3cret"), std::string::npos) << json;
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["pools"]["ha"]["url"]["value"],
            "redis-sentinel://:***@s1,s2/mymaster?sentinel_password=***");
}

TEST(RedisUrlKinds, ErrorsNeverShowAPassword) {
  // Each is wrong in a different part; the message names the part, not the secrets.
  for (const char* url : {"redis-cluster://:s3cret@h1:7000,,h2:7001",
                          "redis-cluster://:s3cret@h1:7000?max_redirects=-1",
                          "redis-sentinel://:s3cret@s1/mymaster?sentinel_password=s3cret&db=x",
                          "redis-sentinel://:s3cret@s1/mymaster?sentinel_password",
                          "redis-cluster://:s3cret@h1:7000/?sentinel_password=s3cret"}) {
    auto c = load_url(url);
    ASSERT_FALSE(c) << url;
    EXPECT_EQ(c.error().code(), errc::invalid_config) << url;
    EXPECT_TRUE(c.error().message().starts_with("config.yaml:4:10: pools.cache.url: "))
        << c.error().message();
    EXPECT_EQ(c.error().message().find("s3cret"), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace connpool::config
