// `connpool check` exit codes against running and stopped servers (started through the shared
// helpers in tests/support, which always stop them).
#include "cli_process.hpp"
#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

namespace connpool::test {
namespace {

std::unique_ptr<RedisServer> start_redis(RedisServerOptions options = {}) {
  std::string error;
  auto server = RedisServer::start(std::move(options), &error);
  if (!server) ADD_FAILURE() << "cannot start redis-server: " << error;
  return server;
}

TEST(CliCheck, RunningServerIsHealthy) {
  auto redis = start_redis();
  ASSERT_TRUE(redis);
  auto r = run_connpool({"check"}, {{"REDIS_URL", redis->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("POOL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("healthy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PONG"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 1 pools healthy"), std::string::npos) << r.out;
}

TEST(CliCheck, StoppedServerIsUnhealthy) {
  auto redis = start_redis();
  ASSERT_TRUE(redis);
  const std::string url = redis->url();
  redis->stop();
  auto r = run_connpool({"check"}, {{"REDIS_URL", url}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("UNHEALTHY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("connect_failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 of 1 pools healthy"), std::string::npos) << r.out;
}

TEST(CliCheck, OneStoppedPoolOfTwoFailsTheCheck) {
  auto up = start_redis();
  auto down = start_redis();
  ASSERT_TRUE(up && down);
  down->stop();
  TempConfig file("pools:\n  up: {backend: redis, url: '" + up->url() +
                  "'}\n  down: {backend: redis, url: '" + down->url() +
                  "', connect_timeout: 1s}\n");
  auto r = run_connpool({"check", "--config", file.path()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("1 of 2 pools healthy"), std::string::npos) << r.out;
}

TEST(CliCheck, PasswordIsUsedAndNeverPrinted) {
  RedisServerOptions options;
  options.requirepass = "s3cret-pw";
  auto redis = start_redis(options);
  ASSERT_TRUE(redis);
  const std::string port = std::to_string(redis->port());
  auto good = run_connpool({"check"}, {{"REDIS_URL", "redis://:s3cret-pw@127.0.0.1:" + port}});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ((good.out + good.err).find("s3cret"), std::string::npos) << good.out;
  auto bad = run_connpool({"check"}, {{"REDIS_URL", "redis://:wrong-s3cret@127.0.0.1:" + port}});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_EQ((bad.out + bad.err).find("s3cret"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("UNHEALTHY"), std::string::npos) << bad.out;
}

// `bench redis` without --url takes $REDIS_URL, so a password need not be on the command line.
TEST(CliBench, RedisTakesTheUrlFromTheEnvironment) {
  RedisServerOptions options;
  options.requirepass = "s3cret-bench";
  auto redis = start_redis(options);
  ASSERT_TRUE(redis);
  const std::string url = "redis://:s3cret-bench@127.0.0.1:" + std::to_string(redis->port());
  auto r = run_connpool({"bench", "redis", "--duration", "0.5", "--concurrency", "2"},
                        {{"REDIS_URL", url}}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("s3cret"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(redis->port())), std::string::npos) << r.out;
}

TEST(CliCheck, NoPoolsSaysSoAndFails) {
  auto r = run_connpool({"check"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("no pools configured"), std::string::npos) << r.out;
}

TEST(CliCheck, ConfigurationErrorExitsTwoWithoutConnecting) {
  auto r = run_connpool({"check", "--set", "pools.redis.max_size=1"},
                        {{"REDIS_URL", "redis://127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err,
            "connpool: configuration error: flag:--set: pools.redis.max_size: must be >= "
            "min_size (5), got 1\n");
  EXPECT_EQ(r.out, "");
}

#if CONNPOOL_CLI_HAS_FIRESTORE
TEST(CliCheck, FirestoreEmulatorRunningThenKilled) {
  auto started = connpool::testing::FirestoreEmulator::start();
  ASSERT_TRUE(started) << started.error().message();
  auto& emulator = **started;
  auto r = run_connpool({"check"}, {{"FIRESTORE_EMULATOR_HOST", emulator.host()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("firestore"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 1 pools healthy"), std::string::npos) << r.out;

  emulator.kill();
  auto down = run_connpool({"check", "--set", "pools.firestore.connect_timeout=2s"},
                           {{"FIRESTORE_EMULATOR_HOST", emulator.host()}});
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.out.find("UNHEALTHY"), std::string::npos) << down.out;
}
#else
TEST(CliCheck, FirestorePoolIsUncheckedWithoutTheBackend) {
  auto r = run_connpool({"check"}, {{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("UNCHECKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("built without the Firestore backend"), std::string::npos) << r.out;
}
#endif

}  // namespace
}  // namespace connpool::test
