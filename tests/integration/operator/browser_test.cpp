// The admin page end to end: `connpool serve --load` runs a Redis pool (and, for the browser, a
// Redis Cluster pool of 3 primaries) under load with a token; the admin server serves the page at
// / and /admin; admin_page_test.mjs drives Debian's chromium through playwright-core (token
// prompt, numbers == JSON, node pools' cards, the proxy's section, phone width, outage ->
// degraded, screenshots under OPERATOR_OUTPUT_DIR). This driver starts and stops everything.
#include "integration/monitor/http_test_client.hpp"
#include "serve_process.hpp"
#include "support/redis_cluster.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace connpool::test {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kToken = "operator-test-token-9f2c";

TEST(AdminPage, ServedAtRootAndAdminWithoutTheToken) {
  std::string error;
  ServeOptions options;
  options.token = kToken;
  auto serve = ServeProcess::start(options, &error);
  ASSERT_NE(serve, nullptr) << error;
  const std::string source = read_file(OPERATOR_PAGE);
  ASSERT_FALSE(source.empty());
  for (const char* path : {"/", "/admin"}) {
    SCOPED_TRACE(path);
    // The page itself is public (it holds no data); the API it calls is what the token guards.
    const auto res = http_get(serve->admin_port(), path);
    ASSERT_EQ(res.status, 200u) << "the admin server does not serve the page at " << path
                                << " (the route of issue 9 is missing?): " << res.body;
    EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8");
    EXPECT_TRUE(res.body == source) << "served page differs from " << OPERATOR_PAGE;
    EXPECT_NE(res.header("content-security-policy").find("default-src 'none'"), std::string::npos)
        << res.header("content-security-policy");
    EXPECT_EQ(res.header("cache-control"), "no-store");
  }
  EXPECT_EQ(http_get(serve->admin_port(), "/api/v1/admin/connection-pools").status, 401u);
}

TEST(AdminPage, InHeadlessChromiumAgainstAPoolUnderLoad) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << kChromium << " is missing: scripts/install-deps.sh installs Debian's 'chromium' package";
  ASSERT_TRUE(std::filesystem::exists(std::string(OPERATOR_NODE_PREFIX) +
                                      "/node_modules/playwright-core/package.json"))
      << "playwright-core is missing under " << OPERATOR_NODE_PREFIX
      << " (built by the operator_playwright target)";

  // Only this test needs a cluster, so it is started here (once for the binary).
  std::string error;
  RedisClusterOptions cluster_options;
  cluster_options.replicas_per_primary = 0;
  auto cluster = RedisCluster::start(cluster_options, &error);
  ASSERT_NE(cluster, nullptr) << error;
  std::string nodes;
  for (const auto port : cluster->primaries()) {
    nodes += (nodes.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
  }

  ServeOptions options;
  options.token = kToken;
  options.cluster_url = cluster->url();
  options.cluster_nodes = cluster->primaries().size();
  options.proxy_port = free_loopback_port();  // the card's Proxies section
  auto serve = ServeProcess::start(options, &error);
  ASSERT_NE(serve, nullptr) << error;

  std::filesystem::create_directories(OPERATOR_OUTPUT_DIR);
  for (const char* shot : {"admin-page.png", "admin-page-laptop.png", "admin-page-phone.png",
                           "admin-page-outage.png", "admin-page-cluster.png"}) {
    std::filesystem::remove(std::string(OPERATOR_OUTPUT_DIR) + "/" + shot);
  }
  auto env = serve->outage_env();
  env["ADMIN_URL"] = serve->admin_url();
  env["ADMIN_TOKEN"] = kToken;
  env["POOL"] = serve->options().pool;
  env["CLUSTER_POOL"] = serve->options().cluster_pool;
  env["CLUSTER_NODES"] = nodes;
  env["PROXY"] = serve->options().proxy;
  env["PROXY_PORT"] = std::to_string(serve->options().proxy_port);
  env["OUTPUT_DIR"] = OPERATOR_OUTPUT_DIR;
  env["CHROMIUM"] = kChromium;
  env["PLAYWRIGHT_PREFIX"] = OPERATOR_NODE_PREFIX;
  env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1";
  const std::string log_path = std::string(OPERATOR_OUTPUT_DIR) + "/admin_page_test.log";
  auto node = ChildProcess::start({OPERATOR_NODE, OPERATOR_PAGE_SCRIPT}, env, log_path, &error);
  ASSERT_NE(node, nullptr) << error;

  const auto code = node->wait_for(std::chrono::seconds(300));
  if (!code) node->stop();
  ASSERT_TRUE(code.has_value()) << "the browser test did not finish in 300 s; its log:\n"
                                << node->log();
  EXPECT_EQ(*code, 0) << "admin_page_test.mjs failed; its log:\n"
                      << node->log() << "\nserve log:\n"
                      << serve->process().log();
  for (const char* shot : {"admin-page.png", "admin-page-laptop.png", "admin-page-phone.png",
                           "admin-page-outage.png", "admin-page-cluster.png"}) {
    EXPECT_TRUE(std::filesystem::exists(std::string(OPERATOR_OUTPUT_DIR) + "/" + shot)) << shot;
  }
}

}  // namespace
}  // namespace connpool::test
