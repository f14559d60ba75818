// `connpool bench redis --url redis-cluster://...` end to end against the test cluster.
#include "cluster_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace connpool::test {
namespace {

struct Output {
  int exit_code = -1;
  std::string out;
};

Output run(const std::string& cmd) {
  Output o;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
    const int status = ::pclose(p);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return o;
}

TEST(ClusterBenchCli, RunsBothModesAgainstTheCluster) {
  const std::string url = cluster()->url();
  auto o = run(std::string(CONNPOOL_CLI) + " bench redis --url '" + url +
               "' --concurrency 4 --duration 0.5 --pipeline-auto both --json 2>&1");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("\"mode\":\"cluster-auto-pipeline\""), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"mode\":\"cluster\""), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"errors\":0"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("\"ops\":0,"), std::string::npos) << o.out;
}

TEST(ClusterBenchCli, BadClusterUrlIsAConfigError) {
  auto o = run(std::string(CONNPOOL_CLI) +
               " bench redis --url 'redis-cluster://:pw@h1:7000,,h2' --duration 0.1 2>&1");
  EXPECT_EQ(o.exit_code, 2) << o.out;
  EXPECT_NE(o.out.find("seed node 2 is empty"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("pw"), std::string::npos) << "password leaked: " << o.out;
}

}  // namespace
}  // namespace connpool::test
