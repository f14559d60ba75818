// Loading from files on disk: the shipped example, CONNPOOL_CONFIG, and --config precedence.
#include "connpool/config/load.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace connpool::config {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("connpool_config_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter_++) + ".yaml");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(File, ExampleConfigLoads) {
  auto c = load({}, Flags{CONNPOOL_EXAMPLE_CONFIG, {}, {}});
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->pools.size(), 2u);
  EXPECT_EQ(c->find("cache")->backend, Backend::redis);
  EXPECT_EQ(c->find("jobs")->backend, Backend::firestore);
  EXPECT_EQ(c->find("jobs")->pool.min_size, 1u);
  EXPECT_EQ(c->find("jobs")->pool.max_leases_per_connection, 100u);
  EXPECT_EQ(c->file_origin.to_string(), "flag:--config");
}

TEST(File, ConfigVariableNamesTheFileAndFlagWins) {
  TempFile a("environment: staging\n");
  TempFile b("environment: production\n");
  auto from_env = load({{"CONNPOOL_CONFIG", a.path()}});
  ASSERT_TRUE(from_env) << from_env.error().message();
  EXPECT_EQ(from_env->environment, Environment::staging);
  EXPECT_EQ(from_env->file, a.path());
  EXPECT_EQ(from_env->file_origin.to_string(), "env:CONNPOOL_CONFIG");
  EXPECT_EQ(from_env->environment_origin.to_string(), a.path() + ":1:14");

  auto from_flag = load({{"CONNPOOL_CONFIG", a.path()}}, Flags{b.path(), {}, {}});
  ASSERT_TRUE(from_flag) << from_flag.error().message();
  EXPECT_EQ(from_flag->environment, Environment::production);
  EXPECT_EQ(from_flag->file_origin.to_string(), "flag:--config");
}

TEST(File, ErrorsNameTheFilePath) {
  TempFile f("pools:\n  cache:\n    backend: redis\n    url: redis://h\n    max_size: 3\n");
  auto c = load({}, Flags{f.path(), {}, {}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            f.path() + ":5:15: pools.cache.max_size: must be >= min_size (5), got 3");
}

TEST(File, EmptyFileConfiguresNothing) {
  TempFile f("# nothing yet\n");
  auto c = load({}, Flags{f.path(), {}, {}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->pools.empty());
}

TEST(File, AnchorsAndAliasesWork) {
  auto c = load_from_string(
      "pools:\n"
      "  a: {backend: redis, url: &url 'redis://127.0.0.1:6379', max_size: &size 7}\n"
      "  b: {backend: redis, url: *url, max_size: *size}\n",
      "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->find("b")->redis.url, "redis://127.0.0.1:6379");
  EXPECT_EQ(c->find("b")->pool.max_size, 7u);
}

}  // namespace
}  // namespace connpool::config

namespace connpool::config {
namespace {

// proxies: (docs/proxy.md) are read from the file with their defaults, a list of listen
// addresses and durations.
TEST(ConfigProxies, ReadFromTheFile) {
  auto c = load_from_string(
      "pools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1\n"
      "proxies:\n  side:\n    pool: cache\n    listen: [127.0.0.1:6380, unix:///tmp/p.sock]\n"
      "    idle_timeout: 30s\n    max_pinned: 3\n  other:\n    pool: cache\n"
      "    listen: 127.0.0.1:6381\n",
      "config.yaml", {}, {});
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->proxies.size(), 2u);
  EXPECT_EQ(c->proxies[0].name, "other");
  EXPECT_EQ(c->proxies[0].max_clients, 10000u);
  const ProxySpec& side = c->proxies[1];
  EXPECT_EQ(side.pool, "cache");
  EXPECT_EQ(side.listen, (std::vector<std::string>{"127.0.0.1:6380", "unix:///tmp/p.sock"}));
  EXPECT_EQ(side.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(side.max_pinned, 3u);
}

}  // namespace
}  // namespace connpool::config
