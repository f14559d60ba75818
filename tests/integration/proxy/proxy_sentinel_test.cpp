// `connpool proxy --url redis-sentinel://...` follows a failover: a connected redis-py client
// (tests/integration/proxy/proxy_sentinel.py) keeps its connection to the built binary while
// the Sentinels promote the replica (tests/support/redis_sentinel.hpp), and its writes land on
// the new master.
#include "integration/cli/cli_process.hpp"
#include "proxy_test_util.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;

TEST(ProxySentinel, ConnectedClientFollowsAFailover) {
  std::string error;
  auto sentinels = RedisSentinelCluster::start({}, &error);
  ASSERT_NE(sentinels, nullptr) << error;
  const std::uint16_t port = free_loopback_port();
  ServeChild proxy({"proxy", "--listen", "127.0.0.1:" + std::to_string(port), "--url",
                    sentinels->url("max_size=4")},
                   {});
  ASSERT_TRUE(wait_accepting(port)) << proxy.output();
  const auto r =
      run_program("/usr/bin/python3",
                  {PROXY_SENTINEL_PY, std::to_string(port),
                   std::to_string(sentinels->sentinel_ports().front()), sentinels->master_name()},
                  {}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\nproxy log:\n" << proxy.output();
}

}  // namespace
}  // namespace connpool::test
