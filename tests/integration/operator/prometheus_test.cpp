// A real Prometheus (Debian's `prometheus`) scrapes the admin server of `connpool serve --load`
// running a Redis pool, with deploy/prometheus.yml pointed at it; the pool's series must then be
// queryable.
#include "integration/monitor/http_test_client.hpp"
#include "serve_process.hpp"
#include "support/promtool.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using nlohmann::json;

const std::string kDeployConfig = std::string(CONNPOOL_SOURCE_DIR) + "/deploy/prometheus.yml";

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Prometheus's query API; the parsed `data.result` array, or null on any failure.
json query(std::uint16_t port, const std::string& promql) {
  try {
    const auto res = http_get(port, "/api/v1/query?query=" + url_encode(promql));
    if (res.status != 200) return nullptr;
    auto j = json::parse(res.body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return nullptr;
    return j["data"]["result"];
  } catch (const std::exception&) {
    return nullptr;
  }
}

TEST(Prometheus, DeployConfigPassesPromtool) {
  ASSERT_TRUE(have_program("promtool")) << "promtool is missing: " << kInstallPrometheus;
  if (!std::filesystem::exists(kDeployConfig)) {
    GTEST_SKIP() << kDeployConfig << " does not exist (issue 5 provides it)";
  }
  const auto check = promtool_check_config(kDeployConfig);
  EXPECT_EQ(check.status, 0) << check.output;
}

TEST(Prometheus, ScrapesThePoolSeriesFromTheAdminServer) {
  ASSERT_TRUE(have_program("prometheus")) << "prometheus is missing: " << kInstallPrometheus;
  std::string error;
  auto serve = ServeProcess::start({}, &error);
  ASSERT_NE(serve, nullptr) << error;
  const std::string pool = serve->options().pool;
  const std::string target = "127.0.0.1:" + std::to_string(serve->admin_port());

  // What serve exposes under load passes Prometheus's own linter.
  const auto metrics = http_get(serve->admin_port(), "/metrics");
  ASSERT_EQ(metrics.status, 200u);
  const auto lint = promtool_check_metrics(metrics.body);
  EXPECT_EQ(lint.status, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << metrics.body;

  // deploy/prometheus.yml with its target moved to our port and a 1 s scrape interval, so the
  // file operators copy is the one under test. Without it, a minimal equivalent.
  TempDir dir("connpool-operator-prometheus-");
  std::string config;
  const bool from_deploy = std::filesystem::exists(kDeployConfig);
  if (from_deploy) {
    config = read_file(kDeployConfig);
    const auto before = config;
    config = std::regex_replace(config, std::regex(R"(127\.0\.0\.1:9464)"), target);
    ASSERT_NE(config, before) << "deploy/prometheus.yml has no 127.0.0.1:9464 target to redirect";
    config =
        std::regex_replace(config, std::regex(R"(scrape_interval:\s*\S+)"), "scrape_interval: 1s");
    config =
        std::regex_replace(config, std::regex(R"(scrape_timeout:\s*\S+)"), "scrape_timeout: 1s");
  } else {
    config =
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        "  - job_name: connpool\n    static_configs:\n      - targets: [\"" +
        target + "\"]\n";
  }
  const std::string config_path = dir.path() + "/prometheus.yml";
  std::ofstream(config_path) << config;
  const auto check = promtool_check_config(config_path);
  ASSERT_EQ(check.status, 0) << check.output << "\n" << config;

  const auto prom_port = free_loopback_port();
  auto prometheus = ChildProcess::start(
      {"prometheus", "--config.file=" + config_path, "--storage.tsdb.path=" + dir.path() + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn",
       "--storage.tsdb.retention.time=1h"},
      {}, dir.path() + "/prometheus.log", &error);
  ASSERT_NE(prometheus, nullptr) << error;

  // Ready, then the first scrape: bounded waits.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline && prometheus->running()) {
    try {
      ready = http_get(prom_port, "/-/ready").status == 200;
    } catch (const std::exception&) {
    }
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ready) << "Prometheus did not become ready; log:\n" << prometheus->log();

  const std::string selector = "{pool=\"" + pool + "\"}";
  json utilization;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    utilization = query(prom_port, "connection_pool_utilization" + selector);
    if (utilization.is_array() && !utilization.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(utilization.is_array() && !utilization.empty())
      << "no connection_pool_utilization series after 60 s; prometheus log:\n"
      << prometheus->log() << "\ntargets: " << http_get(prom_port, "/api/v1/targets").body;

  const auto& series = utilization[0];
  EXPECT_EQ(series["metric"]["pool"], pool);
  EXPECT_EQ(series["metric"]["backend"], "redis");
  EXPECT_EQ(series["metric"]["job"], "connpool");
  EXPECT_EQ(series["metric"]["instance"], target);
  if (from_deploy) {
    EXPECT_EQ(series["metric"]["service"], "connpool");
  }
  const double u = std::stod(series["value"][1].get<std::string>());
  EXPECT_GE(u, 0.0);
  EXPECT_LE(u, 1.0);

  const auto sizes = query(prom_port, "connection_pool_size" + selector);
  ASSERT_TRUE(sizes.is_array());
  std::set<std::string> states;
  for (const auto& s : sizes) states.insert(s["metric"]["state"].get<std::string>());
  EXPECT_EQ(states, (std::set<std::string>{"idle", "active", "connecting", "total"}));
  // min_size is 2 and the pool is ready, so at least two connections are open.
  const auto total =
      query(prom_port, "connection_pool_size{pool=\"" + pool + "\",state=\"total\"}");
  ASSERT_TRUE(total.is_array() && !total.empty());
  EXPECT_GE(std::stod(total[0]["value"][1].get<std::string>()), 2.0);

  const auto up = query(prom_port, "up{job=\"connpool\"}");
  ASSERT_TRUE(up.is_array() && !up.empty());
  EXPECT_EQ(up[0]["value"][1], "1");

  // The dashboard's histogram queries work on what was scraped.
  const auto buckets = query(prom_port, "connection_pool_wait_seconds_bucket" + selector);
  ASSERT_TRUE(buckets.is_array());
  EXPECT_GT(buckets.size(), 10u);

  EXPECT_EQ(prometheus->stop(), 0) << prometheus->log();
}

}  // namespace
}  // namespace connpool::test
