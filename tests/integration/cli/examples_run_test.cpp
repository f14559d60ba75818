// The backend examples in examples/ run against real servers (the core example runs as a plain
// ctest test): they must exit 0.
#include "cli_process.hpp"
#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace connpool::test
