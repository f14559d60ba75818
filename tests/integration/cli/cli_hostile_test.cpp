// The real CLI fed hostile or careless input: passwords holding URL delimiters never appear in
// any output, overlong durations are refused naming the key, a secret-holding config file
// readable by others is warned about, and 100000 levels of JSON end in a clear error (not a
// crash).
#include "cli_process.hpp"
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace connpool::test {
namespace {

void expect_no_secret(const RunResult& r, const std::string& password) {
  for (std::size_t i = 0; i + 3 <= password.size(); ++i) {
    const std::string piece = password.substr(i, 3);
    EXPECT_EQ(r.out.find(piece), std::string::npos) << "stdout leaks '" << piece << "': " << r.out;
    EXPECT_EQ(r.err.find(piece), std::string::npos) << "stderr leaks '" << piece << "': " << r.err;
  }
}

TEST(CliHostile, PasswordWithSlashWorksAndNeverLeaks) {
  auto r =
      run_connpool({"config", "show"}, {{"REDIS_URL", "redis://default:hunt/er2@127.0.0.1:6379"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The issue's own example (it printed "port 'hunt' is not a number").
  for (const char* piece : {"hunt", "er2@"}) {
    EXPECT_EQ(r.out.find(piece), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(piece), std::string::npos) << r.err;
  }
  EXPECT_NE(r.out.find("redis://default:***@127.0.0.1:6379"), std::string::npos) << r.out;
}

TEST(CliHostile, PasswordsWithEachDelimiterNeverLeak) {
  for (const std::string pw :
       {"Qx7/Zq9W", "Qx7?Zq9W", "Qx7#Zq9W", "Qx7@Zq9W", "Qx7:Zq9W", "Qx7%Zq9W", "Qx7 Zq9W"}) {
    SCOPED_TRACE(pw);
    for (const std::string& prefix :
         {std::string("redis://default:"), std::string("redis-cluster://default:"),
          std::string("redis-sentinel://default:")}) {
      const std::string tail =
          prefix.starts_with("redis-sentinel") ? "@127.0.0.1:26379/mymaster" : "@127.0.0.1:6379";
      for (const auto& args : {std::vector<std::string>{"config", "show"},
                               std::vector<std::string>{"config", "show", "--json"}}) {
        auto r = run_connpool(args, {{"REDIS_URL", prefix + pw + tail}});
        EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.err;
        expect_no_secret(r, pw);
      }
    }
  }
}

TEST(CliHostile, SchemeTypoMasksTheWholeUrl) {
  auto r = run_connpool({"config", "show"}, {{"REDIS_URL", "redis:/default:Qx7Zq9W@127.0.0.1"}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  expect_no_secret(r, "Qx7Zq9W");
}

TEST(CliHostile, OverlongDurationsAreRefusedNamingTheKey) {
  auto r = run_connpool({"config", "show"},
                        {{"REDIS_URL", "redis://127.0.0.1:6379?command_timeout=3000000h"}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("command_timeout"), std::string::npos) << r.err;
  auto flag = run_connpool({"config", "show", "--set", "pools.redis.max_lifetime=3000000h"},
                           {{"REDIS_URL", "redis://127.0.0.1:6379"}});
  EXPECT_EQ(flag.exit_code, 2) << flag.out << flag.err;
  EXPECT_NE(flag.err.find("max_lifetime"), std::string::npos) << flag.err;
}

TEST(CliHostile, WarnsOnceAboutASecretFileOthersCanRead) {
  TempConfig file("pools:\n  cache:\n    backend: redis\n    url: redis://:Qx7s3Zq9W@127.0.0.1\n");
  ::chmod(file.path().c_str(), 0644);
  auto r = run_connpool({"config", "show", "--config", file.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("chmod 600"), r.err.rfind("chmod 600")) << "warned more than once";
  expect_no_secret(r, "Qx7s3Zq9W");
  ::chmod(file.path().c_str(), 0600);
  auto quiet = run_connpool({"config", "show", "--config", file.path()});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("chmod"), std::string::npos) << quiet.err;
}

#if CONNPOOL_CLI_HAS_FIRESTORE
TEST(CliHostile, HundredThousandLevelsOfJsonAreAClearError) {
  TempConfig input("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
  const std::string script =
      std::string("exec '") + CONNPOOL_BIN + "' firestore set c d --plain < '" + input.path() + "'";
  auto r = run_program(
      "/bin/sh", {"-c", script},
      {{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:1"}, {"GOOGLE_CLOUD_PROJECT", "demo-hostile"}});
  EXPECT_NE(r.exit_code, -1) << "killed by a signal or timed out: " << r.err;
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 128) << "died by a signal: " << r.err;
  EXPECT_NE(r.err.find("deeper than"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("/a/0/0/0"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_LT(r.err.size(), 4000u);

  // 25 levels: within the text limit, beyond Firestore's 20: refused by the converter.
  TempConfig mid("{\"a\":" + std::string(25, '[') + std::string(25, ']') + "}");
  const std::string mid_script =
      std::string("exec '") + CONNPOOL_BIN + "' firestore set c d --plain < '" + mid.path() + "'";
  auto m = run_program(
      "/bin/sh", {"-c", mid_script},
      {{"FIRESTORE_EMULATOR_HOST", "127.0.0.1:1"}, {"GOOGLE_CLOUD_PROJECT", "demo-hostile"}});
  EXPECT_NE(m.exit_code, 0);
  EXPECT_LT(m.exit_code, 128);
  EXPECT_NE(m.err.find("Firestore's limit"), std::string::npos) << m.err;
}
#endif

}  // namespace
}  // namespace connpool::test
