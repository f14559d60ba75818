// `connpool config show`: effective values with their sources, secrets redacted, exit 2 on a
// configuration error.
#include "cli_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace connpool::test {
namespace {

TEST(CliConfigShow, NothingConfigured) {
  auto r = run_connpool({"config", "show"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("environment: development  (default)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no pools configured"), std::string::npos) << r.out;
}

TEST(CliConfigShow, EnvironmentPoolsWithSourcesAndNoSecrets) {
  auto r = run_connpool({"config", "show", "--set", "pools.redis.max_size=7"},
                        {{"REDIS_URL", "redis://app:s3cret-pw@127.0.0.1:6379/2"},
                         {"CONNPOOL_ENV", "production"},
                         {"CONNPOOL_ADMIN_TOKEN", "s3cret-token"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("environment: production  (env:CONNPOOL_ENV)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pool redis (redis)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("redis://app:***@127.0.0.1:6379/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("env:REDIS_URL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("flag:--set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("env:CONNPOOL_ADMIN_TOKEN"), std::string::npos) << r.out;
}

TEST(CliConfigShow, JsonFromFileWithProfileAndOverrides) {
  TempConfig file(
      "environment: staging\n"
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://:s3cret@127.0.0.1:6379\n"
      "    acquire_timeout: 250ms\n"
      "  jobs:\n"
      "    backend: firestore\n"
      "    emulator_host: 127.0.0.1:8080\n");
  auto r =
      run_connpool({"config", "show", "--json", "--config", file.path(), "--env", "production"},
                   {{"CONNPOOL_POOLS__CACHE__MIN_SIZE", "8"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["environment"]["value"], "production");
  EXPECT_EQ(j["environment"]["source"], "flag:--env");
  EXPECT_EQ(j["file"]["value"], file.path());
  const auto& cache = j["pools"]["cache"];
  EXPECT_EQ(cache["url"]["value"], "redis://:***@127.0.0.1:6379");
  EXPECT_EQ(cache["max_size"]["value"], 50);
  EXPECT_EQ(cache["max_size"]["source"], "profile:production");
  EXPECT_EQ(cache["min_size"]["value"], 8);
  EXPECT_EQ(cache["min_size"]["source"], "env:CONNPOOL_POOLS__CACHE__MIN_SIZE");
  EXPECT_EQ(cache["acquire_timeout"]["value"], "250ms");
  EXPECT_EQ(cache["acquire_timeout"]["source"], file.path() + ":6:22");
  EXPECT_EQ(cache["health_check_interval"]["value"], "30s");
  const auto& jobs = j["pools"]["jobs"];
  EXPECT_EQ(jobs["max_size"]["value"], 20);
  EXPECT_EQ(jobs["min_size"]["value"], 2);
  EXPECT_EQ(jobs["max_idle_time"]["value"], "5m");
  EXPECT_EQ(jobs["health_check_interval"]["value"], "1m");
  EXPECT_EQ(jobs["project_id"]["value"], "demo-connpool");
}

// The built binary lists `proxies:` (table and JSON); the password variable is shown by name and
// its value, set in the environment, appears nowhere.
TEST(CliConfigShow, ListsTheProxiesWithoutTheirPassword) {
  TempConfig file(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://127.0.0.1:6379\n"
      "proxies:\n"
      "  sidecar:\n"
      "    pool: cache\n"
      "    listen: 127.0.0.1:6380\n"
      "    password_env: SIDECAR_PASSWORD\n"
      "    idle_timeout: 5m\n");
  const std::map<std::string, std::string> env = {{"SIDECAR_PASSWORD", "s3cret-sidecar"}};
  auto table = run_connpool({"config", "show", "--config", file.path()}, env);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.find("s3cret"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("proxy sidecar (-> pool cache)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SIDECAR_PASSWORD"), std::string::npos) << table.out;
  auto json = run_connpool({"config", "show", "--json", "--config", file.path()}, env);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out.find("s3cret"), std::string::npos) << json.out;
  const auto j = nlohmann::json::parse(json.out);
  const auto& p = j["proxies"]["sidecar"];
  EXPECT_EQ(p["listen"]["value"], nlohmann::json({"127.0.0.1:6380"}));
  EXPECT_EQ(p["listen"]["source"], file.path() + ":8:13");
  EXPECT_EQ(p["password_env"]["value"], "SIDECAR_PASSWORD");
  EXPECT_EQ(p["idle_timeout"]["value"], "5m");
  EXPECT_EQ(p["max_clients"]["value"], 10000);
  EXPECT_EQ(p["max_clients"]["source"], "default");
}

TEST(CliConfigShow, ConfigVariableNamesTheFile) {
  auto r =
      run_connpool({"config", "show", "--json"}, {{"CONNPOOL_CONFIG", CONNPOOL_EXAMPLE_CONFIG}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"]["source"], "env:CONNPOOL_CONFIG");
  EXPECT_TRUE(j["pools"].contains("cache"));
  EXPECT_TRUE(j["pools"].contains("jobs"));
}

struct BadCase {
  const char* name;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string stderr_line;  // "{file}" stands for the temp file's path
};

class CliConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(CliConfigErrors, ExitTwoAndPrintTheLocatedError) {
  TempConfig file(
      "# connpool\n#\n#\n#\n#\nenvironment: production\npools:\n  cache:\n    backend: redis\n"
      "    url: redis://:s3cret@127.0.0.1\n    min_size: 5\n    max_size: 3\n");
  std::vector<std::string> args = {"config", "show"};
  for (const std::string& a : GetParam().args) args.push_back(a == "{file}" ? file.path() : a);
  auto r = run_connpool(args, GetParam().env);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  std::string expected = GetParam().stderr_line;
  if (auto at = expected.find("{file}"); at != std::string::npos) {
    expected.replace(at, 6, file.path());
  }
  EXPECT_EQ(r.err, expected + "\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ((r.out + r.err).find("s3cret"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliConfigErrors,
    ::testing::Values(
        BadCase{"max_below_min",
                {"--config", "{file}"},
                {},
                "connpool: configuration error: {file}:12:15: pools.cache.max_size: must be >= "
                "min_size (5), got 3"},
        BadCase{"bad_env_flag",
                {"--env", "prod"},
                {},
                "connpool: configuration error: flag:--env: environment: must be development, "
                "staging or production, got 'prod'"},
        BadCase{"unknown_env_field",
                {},
                {{"REDIS_URL", "redis://:s3cret@h"}, {"CONNPOOL_POOLS__REDIS__MAX_SZIE", "3"}},
                "connpool: configuration error: env:CONNPOOL_POOLS__REDIS__MAX_SZIE: "
                "pools.redis.max_szie: unknown key; did you mean 'max_size'?"},
        BadCase{"missing_file",
                {"--config", "/nonexistent/connpool.yaml"},
                {},
                "connpool: configuration error: /nonexistent/connpool.yaml: cannot read the "
                "configuration file (named by flag:--config): No such file or directory"}),
    [](const auto& info) { return std::string(info.param.name); });

// --set-env: an override whose value (here a URL with a password) comes from the environment,
// so it is never on the command line; the value is applied and shown redacted.
TEST(CliConfigShow, SetEnvReadsTheValueFromTheEnvironment) {
  TempConfig file(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://127.0.0.1:6379\n");
  auto r = run_connpool({"config", "show", "--json", "--config", file.path(), "--set-env",
                         "pools.cache.url=CACHE_URL"},
                        {{"CACHE_URL", "redis://:pw-from-env@127.0.0.1:6390"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("pw-from-env"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pools"]["cache"]["url"]["value"], "redis://:***@127.0.0.1:6390");

  auto missing = run_connpool(
      {"config", "show", "--config", file.path(), "--set-env", "pools.cache.url=NOT_SET_ANYWHERE"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("NOT_SET_ANYWHERE is not set"), std::string::npos) << missing.err;
}

TEST(CliConfig, MissingSubcommandIsACommandLineError) {
  auto r = run_connpool({"config"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace connpool::test
