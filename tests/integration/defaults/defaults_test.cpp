// The original system's helpers (get_redis_pool(), redis_get/redis_set, PooledConnection,
// get_firestore_pool(), get_document_from_firestore(), query_documents()) on default pools that
// follow the configuration `connpool serve` reads: the CONNPOOL_ENV profile, the file named by
// CONNPOOL_CONFIG and the environment variables. Against a real redis-server and the Firestore
// emulator. The tests change the process environment, so they run one at a time (one binary).
#include "connpool/firestore/default_client.hpp"
#include "connpool/redis/default_pool.hpp"

#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace connpool::defaults::test {
namespace {

using namespace std::chrono_literals;
using connpool::test::RedisServer;
using redis::DefaultRedisRegistry;
using redis::get_redis_pool;
using redis::PooledConnection;
using redis::redis_get;
using redis::redis_set;
namespace fs = connpool::firestore;

RedisServer* g_redis = nullptr;

// The emulator's first RPC (a cold JVM) can take longer than the default pools' 5 s connect
// and acquire timeouts on a loaded machine; one patient read here keeps that start-up cost out
// of the tests, which keep the defaults they are about.
void warm_up_emulator() {
  auto* emu = connpool::testing::FirestoreEmulator::shared();
  ASSERT_NE(emu, nullptr);
  connpool::test::IoThreads io;
  fs::FirestoreOptions options;
  options.project_id = "t-defaults-warm-up";
  options.emulator_host = emu->host();
  options.call_timeout = 90s;
  core::PoolConfig patient = fs::default_pool_config();
  patient.connect_timeout = 90s;
  patient.acquire_timeout = 90s;
  auto client = fs::Client::create(io.executor(), options, patient);
  ASSERT_TRUE(client) << client.error().to_string();
  auto read = client->blocking().get_document("warm", "up");
  ASSERT_TRUE(read) << read.error().to_string();
  client->pool().close_blocking(5s);
}

class ServersEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string err;
    g_redis = RedisServer::start({}, &err).release();
    ASSERT_NE(g_redis, nullptr) << err;
    warm_up_emulator();
  }
  void TearDown() override {
    DefaultRedisRegistry::instance().reset();
    fs::DefaultFirestoreRegistry::instance().shutdown();
    delete g_redis;
    g_redis = nullptr;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ServersEnv);

// Every variable the configuration reads, cleared before each test and restored after, and both
// default registries reset so each test builds its default pools from its own environment.
class DefaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_redis, nullptr);
    for (const char* name :
         {"CONNPOOL_ENV", "CONNPOOL_CONFIG", "REDIS_URL", "FIRESTORE_EMULATOR_HOST",
          "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DATABASE", "CONNPOOL_POOLS__REDIS__MAX_SIZE",
          "CONNPOOL_POOLS__CACHE__MIN_SIZE"}) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      ::unsetenv(name);
    }
    DefaultRedisRegistry::instance().reset();
    fs::DefaultFirestoreRegistry::instance().shutdown();
  }
  void TearDown() override {
    DefaultRedisRegistry::instance().reset();
    fs::DefaultFirestoreRegistry::instance().shutdown();
    for (const std::string& name : set_) ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    if (!file_.empty()) std::filesystem::remove(file_);
  }
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }
  // Writes `yaml` to a private file and names it in CONNPOOL_CONFIG.
  void config_file(const std::string& yaml) {
    file_ = (std::filesystem::temp_directory_path() /
             ("connpool-defaults-" + std::to_string(::getpid()) + ".yaml"))
                .string();
    std::ofstream(file_) << yaml;
    std::filesystem::permissions(
        file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    set("CONNPOOL_CONFIG", file_);
  }
  void use_emulator(const std::string& project) {
    auto* emu = connpool::testing::FirestoreEmulator::shared();
    ASSERT_NE(emu, nullptr);
    set("FIRESTORE_EMULATOR_HOST", emu->host());
    set("GOOGLE_CLOUD_PROJECT", project);
  }

  std::vector<std::pair<std::string, std::string>> saved_;
  std::vector<std::string> set_;
  std::string file_;
};

// Waits until the pool has opened `n` connections (warm-up to min_size runs in the background).
template <class Pool>
bool opened_at_least(const Pool& pool, std::size_t n) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    if (pool.stats().total >= n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

struct Profile {
  const char* env;
  std::size_t redis_max;
  std::size_t firestore_max;
};

class ProfileTest : public DefaultsTest, public ::testing::WithParamInterface<Profile> {};

// The original system's numbers: Redis min 5 / max 20 (production 50), idle 600 s, health check
// 30 s; Firestore min 2 / max 10 (production 20), idle 300 s, health check 60 s.
TEST_P(ProfileTest, RedisDefaultPoolTakesTheProfile) {
  set("CONNPOOL_ENV", GetParam().env);
  set("REDIS_URL", g_redis->url());
  auto client = get_redis_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  const core::PoolConfig c = client->pool().config();
  EXPECT_EQ(c.max_size, GetParam().redis_max);
  EXPECT_EQ(c.min_size, 5u);
  EXPECT_EQ(c.max_idle_time, 600s);
  EXPECT_EQ(c.health_check_interval, 30s);
  EXPECT_EQ(client->exclusive_pool().config().max_size, GetParam().redis_max);
  // min_size is real: the pool opens five connections to the server by itself.
  EXPECT_TRUE(opened_at_least(client->pool(), 5)) << client->pool().stats().total;

  const std::string key = std::string("profile:") + GetParam().env;
  auto stored = redis_set(key, "v", 60s);
  ASSERT_TRUE(stored) << stored.error().to_string();
  auto got = redis_get(key);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, "v");
}

TEST_P(ProfileTest, FirestoreDefaultPoolTakesTheProfile) {
  set("CONNPOOL_ENV", GetParam().env);
  use_emulator(std::string("t-defaults-") + GetParam().env);
  auto client = fs::get_firestore_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  const core::PoolConfig c = client->pool().config();
  EXPECT_EQ(c.max_size, GetParam().firestore_max);
  EXPECT_EQ(c.min_size, 2u);
  EXPECT_EQ(c.max_idle_time, 300s);
  EXPECT_EQ(c.health_check_interval, 60s);
  EXPECT_TRUE(opened_at_least(client->pool(), 2)) << client->pool().stats().total;

  auto written = client->blocking().set_document("jobs", "p1", fs::Map{{"env", GetParam().env}});
  ASSERT_TRUE(written) << written.error().to_string();
  auto doc = fs::get_document_from_firestore("p1", "jobs");
  ASSERT_TRUE(doc) << doc.error().to_string();
  ASSERT_TRUE(doc->has_value());
  EXPECT_EQ((*doc)->fields.at("env"), fs::Value(GetParam().env));
}

INSTANTIATE_TEST_SUITE_P(Profiles, ProfileTest,
                         ::testing::Values(Profile{"development", 20, 10},
                                           Profile{"staging", 20, 10},
                                           Profile{"production", 50, 20}),
                         [](const auto& info) { return std::string(info.param.env); });

// No CONNPOOL_ENV: development, as `connpool serve` assumes.
TEST_F(DefaultsTest, NoProfileMeansDevelopment) {
  set("REDIS_URL", g_redis->url());
  auto client = get_redis_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_EQ(client->pool().config().max_size, 20u);
}

// The file named by CONNPOOL_CONFIG: its only Redis / Firestore pools are the defaults, whatever
// their names; its values override the profile, and CONNPOOL_POOLS__* override the file.
TEST_F(DefaultsTest, ConnpoolConfigFileChoosesTheOnlyPoolOfEachBackend) {
  auto* emu = connpool::testing::FirestoreEmulator::shared();
  ASSERT_NE(emu, nullptr);
  config_file(
      "environment: production\n"
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: " +
      g_redis->url() +
      "\n"
      "    max_size: 7\n"
      "    min_size: 1\n"
      "    health_check_interval: 5s\n"
      "  docs:\n"
      "    backend: firestore\n"
      "    project_id: t-defaults-file\n"
      "    emulator_host: " +
      emu->host() +
      "\n"
      "    min_size: 1\n");
  set("CONNPOOL_POOLS__CACHE__MIN_SIZE", "3");
  auto client = get_redis_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  const core::PoolConfig c = client->pool().config();
  EXPECT_EQ(c.max_size, 7u);               // file over profile
  EXPECT_EQ(c.min_size, 3u);               // env over file
  EXPECT_EQ(c.health_check_interval, 5s);  // file
  EXPECT_EQ(c.max_idle_time, 600s);        // built-in default
  EXPECT_TRUE(opened_at_least(client->pool(), 3));
  auto stored = redis_set("file:k", "from-file");
  ASSERT_TRUE(stored) << stored.error().to_string();
  {
    auto conn = PooledConnection::acquire();
    ASSERT_TRUE(conn) << conn.error().to_string();
    auto reply = conn->command({"GET", "file:k"});
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_EQ(reply->str(), "from-file");
    EXPECT_EQ(client->exclusive_pool().stats().leases, 1u);
  }
  EXPECT_EQ(client->exclusive_pool().stats().leases, 0u);

  auto firestore = fs::get_firestore_pool();
  ASSERT_TRUE(firestore) << firestore.error().to_string();
  EXPECT_EQ(firestore->pool().config().max_size, 20u);  // the file's production profile
  EXPECT_EQ(firestore->pool().config().min_size, 1u);
  auto written = firestore->blocking().set_document("jobs", "f1", fs::Map{{"n", 1}});
  ASSERT_TRUE(written) << written.error().to_string();
  auto doc = fs::get_document_from_firestore("f1", "jobs");
  ASSERT_TRUE(doc) << doc.error().to_string();
  EXPECT_TRUE(doc->has_value());
}

// Several Redis pools: the one named "redis" is the default one...
TEST_F(DefaultsTest, ThePoolNamedAfterTheBackendWinsAmongSeveral) {
  config_file(
      "pools:\n"
      "  other:\n"
      "    backend: redis\n"
      "    url: redis://127.0.0.1:1\n"
      "  redis:\n"
      "    backend: redis\n"
      "    url: " +
      g_redis->url() +
      "\n"
      "    max_size: 9\n");
  auto client = get_redis_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_EQ(client->pool().config().max_size, 9u);
  ASSERT_TRUE(redis_set("named:k", "v"));
}

// ...and without one the choice is ambiguous: a clear error listing them, not a guess.
TEST_F(DefaultsTest, SeveralPoolsAndNoneNamedAfterTheBackendIsAnError) {
  config_file(
      "pools:\n"
      "  a:\n"
      "    backend: redis\n"
      "    url: " +
      g_redis->url() +
      "\n"
      "  b:\n"
      "    backend: redis\n"
      "    url: " +
      g_redis->url() + "\n");
  auto got = redis_get("k");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), errc::invalid_config);
  EXPECT_NE(got.error().message().find("(a, b)"), std::string::npos) << got.error().to_string();
  EXPECT_NE(got.error().message().find("default redis pool"), std::string::npos);
}

// A bad configuration names where, the key and the rule; a password never shows.
TEST_F(DefaultsTest, BadConfigurationNamesTheField) {
  set("REDIS_URL", g_redis->url());
  set("CONNPOOL_POOLS__REDIS__MAX_SIZE", "ten");
  auto got = redis_get("k");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), errc::invalid_config);
  EXPECT_NE(got.error().message().find("CONNPOOL_POOLS__REDIS__MAX_SIZE"), std::string::npos)
      << got.error().to_string();
  EXPECT_NE(got.error().message().find("pools.redis.max_size"), std::string::npos);
  // Fixing the environment is enough: the next call reads the configuration again.
  ::unsetenv("CONNPOOL_POOLS__REDIS__MAX_SIZE");
  ASSERT_TRUE(redis_set("fixed:k", "v")) << "after the fix";

  DefaultRedisRegistry::instance().reset();
  set("CONNPOOL_ENV", "prod");
  auto env = get_redis_pool();
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message().find("environment"), std::string::npos)
      << env.error().to_string();
  ::unsetenv("CONNPOOL_ENV");

  set("REDIS_URL", "redis://u:hunter2@h:port");
  auto url = get_redis_pool();
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().message().find("hunter2"), std::string::npos) << url.error().to_string();
  EXPECT_NE(url.error().message().find("REDIS_URL"), std::string::npos) << url.error().to_string();
}

TEST_F(DefaultsTest, BadConfigFileNamesFileLineAndField) {
  config_file(
      "pools:\n"
      "  redis:\n"
      "    backend: redis\n"
      "    url: " +
      g_redis->url() +
      "\n"
      "    min_size: 30\n"
      "    max_size: 4\n");
  auto got = get_redis_pool();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), errc::invalid_config);
  EXPECT_NE(got.error().message().find(file_ + ":"), std::string::npos) << got.error().to_string();
  EXPECT_NE(got.error().message().find("pools.redis."), std::string::npos)
      << got.error().to_string();

  set("CONNPOOL_CONFIG", file_ + ".missing");
  auto missing = fs::get_firestore_pool();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(".missing"), std::string::npos)
      << missing.error().to_string();
  EXPECT_NE(missing.error().message().find("CONNPOOL_CONFIG"), std::string::npos)
      << missing.error().to_string();
}

// Nothing configures Firestore: a clear error saying what to set (the helpers used to need
// GOOGLE_CLOUD_PROJECT too).
TEST_F(DefaultsTest, NoFirestoreConfigurationSaysWhatToSet) {
  auto got = fs::get_document_from_firestore("x", "jobs");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), errc::invalid_config);
  EXPECT_NE(got.error().message().find("GOOGLE_CLOUD_PROJECT"), std::string::npos)
      << got.error().to_string();
}

// configure() overrides the url (e.g. a server on a random port); the policy still comes from
// the configuration, and reset() goes back to it.
TEST_F(DefaultsTest, ConfigureOverridesTheUrlOnly) {
  set("CONNPOOL_ENV", "production");
  auto bad = DefaultRedisRegistry::instance().configure("redis://u:hunter2@h:port");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().find("hunter2"), std::string::npos);
  ASSERT_TRUE(DefaultRedisRegistry::instance().configure(g_redis->url()));
  auto client = get_redis_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_EQ(client->pool().name(), "redis-default");
  EXPECT_EQ(client->pool().config().max_size, 50u);
  ASSERT_TRUE(redis_set("configured:k", "v1", 60s));
  EXPECT_EQ(*redis_get("configured:k"), "v1");
  EXPECT_EQ(*redis_get("configured:missing"), std::nullopt);
  {
    auto conn = PooledConnection::acquire();
    ASSERT_TRUE(conn) << conn.error().to_string();
    auto ttl = conn->command({"TTL", "configured:k"});
    ASSERT_TRUE(ttl);
    EXPECT_GT(ttl->as_integer(), 0);
  }
}

TEST_F(DefaultsTest, QueryDocumentsFiltersAndLimits) {
  use_emulator("t-defaults-query");
  auto client = fs::get_firestore_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  auto db = client->blocking();
  for (int i = 0; i < 5; ++i) {
    auto written = db.set_document("jobs", "j" + std::to_string(i),
                                   fs::Map{{"status", i < 3 ? "PENDING" : "DONE"}, {"n", i}});
    ASSERT_TRUE(written) << written.error().to_string();
  }
  // The original call: query_documents(collection="jobs", filters=[("status","==","PENDING")],
  // limit=10).
  auto pending = fs::query_documents("jobs", {fs::Filter::where("status", "==", "PENDING")}, 10);
  ASSERT_TRUE(pending) << pending.error().to_string();
  EXPECT_EQ(pending->size(), 3u);
  for (const auto& d : *pending) EXPECT_EQ(d.fields.at("status"), fs::Value("PENDING"));

  auto two = fs::query_documents(
      "jobs", {fs::Filter::where("status", "==", "PENDING"), fs::Filter::where("n", ">=", 1)}, 1);
  ASSERT_TRUE(two) << two.error().to_string();
  EXPECT_EQ(two->size(), 1u);

  auto all = fs::query_documents("jobs", {});
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 5u);

  auto bad_op = fs::query_documents("jobs", {fs::Filter::where("n", "≈", 1)});
  ASSERT_FALSE(bad_op);
  EXPECT_EQ(bad_op.error().code(), errc::invalid_argument);
  EXPECT_NE(bad_op.error().message().find("≈"), std::string::npos) << bad_op.error().to_string();
  auto bad_limit = fs::query_documents("jobs", {}, 0);
  ASSERT_FALSE(bad_limit);
  EXPECT_NE(bad_limit.error().message().find("limit"), std::string::npos);
}

// FIRESTORE_DATABASE, read by the helpers before they followed the configuration, still picks
// the database where the configuration leaves it at its default.
TEST_F(DefaultsTest, FirestoreDatabaseVariableStillApplies) {
  use_emulator("t-defaults-db");
  set("FIRESTORE_DATABASE", "other-db");
  auto client = fs::get_firestore_pool();
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_NE(client->pool().options().target.find("databases/other-db"), std::string::npos)
      << client->pool().options().target;
}

}  // namespace
}  // namespace connpool::defaults::test
