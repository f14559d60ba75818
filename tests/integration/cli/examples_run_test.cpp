// The backend examples in examples/ run against real servers (the core example runs as a plain
// ctest test): they must exit 0.
#include "cli_process.hpp"
#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace connpool::test {
namespace {

TEST(Examples, RedisExamplesRunAgainstARealServer) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::map<std::string, std::string> env = {
      {"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis->port())}};
  for (const char* example : {EXAMPLE_REDIS_QUICKSTART, EXAMPLE_REDIS_TRANSACTION}) {
    auto r = run_program(example, {}, env, std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << example << "\n" << r.out << r.err;
  }
}

TEST(Examples, FirestoreExampleRunsAgainstTheEmulator) {
  auto emulator = testing::FirestoreEmulator::start();
  ASSERT_TRUE(emulator) << emulator.error().to_string();
  const std::map<std::string, std::string> env = {{"FIRESTORE_EMULATOR_HOST", (*emulator)->host()},
                                                  {"GOOGLE_CLOUD_PROJECT", "connpool-example"}};
  auto r = run_program(EXAMPLE_FIRESTORE_QUICKSTART, {}, env, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// examples/embedded_service.cpp: the service layer in someone else's program. From a YAML file it
// runs the pools and the admin endpoint (scraped here while it serves requests), and drains
// on SIGTERM.
TEST(Examples, EmbeddedServiceServesPoolsAndAdminFromYaml) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::uint16_t admin = free_loopback_port();
  TempConfig yaml("admin:\n  bind: 127.0.0.1\n  port: " + std::to_string(admin) +
                  "\npools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1:" +
                  std::to_string(redis->port()) + "\n    min_size: 2\n");
  ServeChild service(EXAMPLE_EMBEDDED_SERVICE, {yaml.path()}, {});
  std::string metrics;
  for (int i = 0; i < 300 && metrics.find("pool=\"cache\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = http_body(http_get(admin, "/metrics"));
  }
  EXPECT_NE(metrics.find("pool=\"cache\""), std::string::npos) << metrics << service.output();
  std::string ready;
  for (int i = 0; i < 300 && ready.find(" 200 ") == std::string::npos; ++i) {
    ready = http_get(admin, "/readyz");
    if (ready.find(" 200 ") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_NE(ready.find(" 200 "), std::string::npos) << ready;
  // It serves requests through the pool: wait for its first progress line.
  for (int i = 0; i < 300 && service.output().find("request 1 ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(std::chrono::seconds(60)), 0) << service.output();
  const std::string out = service.output();
  EXPECT_NE(out.find("admin endpoint http://127.0.0.1:" + std::to_string(admin)), std::string::npos)
      << out;
  EXPECT_NE(out.find("request 1 "), std::string::npos) << out;
  EXPECT_NE(out.find("drained after"), std::string::npos) << out;
}

}  // namespace
}  // namespace connpool::test
