// `connpool bench redis` end to end: JSON fields per mode, the progress line, exit codes.
#include "support/redis_server.hpp"
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using connpool::test::RedisServer;

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command with stdout captured (stderr redirected as the command says).
Output run(const std::string& cmd) {
  Output o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  const int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    server_ = RedisServer::start({}, &err);
    ASSERT_TRUE(server_) << err;
  }
  std::string bench(const std::string& args) const {
    return std::string(CONNPOOL_CLI) +
           " bench redis --url redis://127.0.0.1:" + std::to_string(server_->port()) + " " + args;
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(BenchCli, JsonOneObjectPerMode) {
  auto o = run(bench("--concurrency 4 --duration 0.5 --pipeline-auto both --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 2u) << o.out;
  for (const auto& l : ls) {
    for (const char* field :
         {"\"backend\":\"redis\"", "\"mode\":", "\"concurrency\":4", "\"duration_s\":", "\"ops\":",
          "\"ops_per_sec\":", "\"p50_us\":", "\"p99_us\":", "\"p999_us\":", "\"errors\":0"}) {
      EXPECT_NE(l.find(field), std::string::npos) << field << " missing in " << l;
    }
  }
  EXPECT_NE(ls[0].find("\"mode\":\"pool-auto-pipeline\""), std::string::npos);
  EXPECT_NE(ls[1].find("\"mode\":\"pool\""), std::string::npos);
}

TEST_F(BenchCli, NoPoolMode) {
  auto o = run(bench("--concurrency 2 --duration 0.5 --no-pool --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("\"mode\":\"no-pool\""), std::string::npos) << o.out;
}

TEST_F(BenchCli, ProgressLineWithoutJson) {
  auto o = run(bench("--concurrency 2 --duration 1.5 --pipeline-auto off 2>&1"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("[redis pool]"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("ops/s="), std::string::npos) << o.out;
}

TEST_F(BenchCli, UnreachableServerFailsAndBadUrlIsAConfigError) {
  const auto port = connpool::test::free_loopback_port();
  auto down = run(std::string(CONNPOOL_CLI) + " bench redis --url 'redis://:pw@127.0.0.1:" +
                  std::to_string(port) + "?acquire_timeout=200ms' --duration 0.2 2>&1");
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("refused"), std::string::npos) << down.out;
  EXPECT_EQ(down.out.find(":pw@"), std::string::npos) << "password leaked: " << down.out;
  auto bad = run(std::string(CONNPOOL_CLI) + " bench redis --url redis://h:port 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

}  // namespace
