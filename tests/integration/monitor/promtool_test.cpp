// GET /metrics output passes `promtool check metrics` (the Prometheus project's own linter).
#include "http_test_client.hpp"
#include "monitor_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace connpool::monitor {
namespace {

struct Run {
  int status = -1;
  std::string output;
};

Run run(const std::string& command) {
  Run r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) r.output += buf;
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(Promtool, MetricsOutputPassesPromtoolCheckMetrics) {
  ASSERT_EQ(run("command -v promtool").status, 0)
      << "promtool is missing: scripts/install-deps.sh installs Debian's 'prometheus' package";

  connpool::test::MonitorFixture f;
  // Every kind of series present: errors of several types, failed health checks, leaks,
  // observations in the +Inf bucket, and a pool name that needs escaping.
  f.cache_observer->on_error(Error(errc::acquire_timeout, "x"));
  f.cache_observer->on_health_check(false, std::chrono::seconds(2));
  f.cache_observer->on_leak_detected(std::chrono::minutes(2), std::source_location::current());
  f.cache_observer->on_released(std::chrono::minutes(3));
  f.cache_observer->on_acquire_timeout(std::chrono::milliseconds(250));
  auto odd = connpool::test::fake_source("odd\"name\\x", "redis", f.docs_stats);
  ASSERT_TRUE(f.pools->add(odd));
  f.metrics->make_observer("odd\"name\\x", "redis")->on_created(std::chrono::milliseconds(1));

  auto server = f.start();
  const auto res = connpool::test::http_get(server.port(), "/metrics");
  ASSERT_EQ(res.status, 200u);
  ASSERT_FALSE(res.body.empty());

  const auto dir =
      std::filesystem::temp_directory_path() / ("connpool-promtool-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "metrics.txt";
  std::ofstream(file) << res.body;
  const auto check = run("promtool check metrics < '" + file.string() + "'");
  EXPECT_EQ(check.status, 0) << check.output << "\n--- metrics ---\n" << res.body;
  // promtool prints one line per lint problem; none are expected.
  EXPECT_EQ(check.output, "") << res.body;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace connpool::monitor
