// redis-cluster:// URL parsing: seed lists, cluster options, per-node options, errors that name
// the bad part and never the password.
#include "connpool/redis/cluster/cluster_url.hpp"

#include <gtest/gtest.h>

namespace connpool::redis::cluster {
namespace {

TEST(ClusterUrl, ParsesSeedsAndDefaults) {
  auto u = ClusterUrl::parse("redis-cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002");
  ASSERT_TRUE(u) << u.error().to_string();
  ASSERT_EQ(u->seeds.size(), 3u);
  EXPECT_EQ(u->seeds[0], (NodeAddress{"10.0.0.1", 7000}));
  EXPECT_EQ(u->seeds[1], (NodeAddress{"10.0.0.2", 6379}));
  EXPECT_EQ(u->seeds[2], (NodeAddress{"::1", 7002}));
  EXPECT_EQ(u->seeds[2].text(), "[::1]:7002");
  EXPECT_EQ(u->read_from, ReadFrom::primary);
  EXPECT_EQ(u->max_redirects, 5u);
  EXPECT_EQ(u->node.transport, Transport::tcp);
  EXPECT_FALSE(u->node.readonly);
}

TEST(ClusterUrl, ClusterAndNodeOptions) {
  auto u = ClusterUrl::parse(
      "rediss-cluster://app:s3cret@h1:7000,h2:7001/?read_from=replica&max_size=7&"
      "max_redirects=3&refresh_interval=2s&max_retries=4&retry_backoff=10ms&"
      "command_timeout=250ms&tls_verify=false");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->read_from, ReadFrom::replica);
  EXPECT_EQ(u->max_redirects, 3u);
  EXPECT_EQ(u->max_retries, 4u);
  EXPECT_EQ(u->retry_backoff, std::chrono::milliseconds(10));
  EXPECT_EQ(u->refresh_interval, std::chrono::seconds(2));
  EXPECT_EQ(u->node.transport, Transport::tls);
  EXPECT_EQ(u->node.pool.max_size, 7u);
  EXPECT_EQ(u->node.command_timeout, std::chrono::milliseconds(250));
  EXPECT_FALSE(u->node.tls.verify);
  EXPECT_EQ(u->node.username, "app");
  EXPECT_EQ(u->node.password, "s3cret");
  const RedisUrl n = u->node_url(u->seeds[1]);
  EXPECT_EQ(n.host, "h2");
  EXPECT_EQ(n.port, 7001);
  EXPECT_EQ(n.password, "s3cret");
}

TEST(ClusterUrl, RedactedHidesThePassword) {
  auto u = ClusterUrl::parse("redis-cluster://app:s3cret@h1:7000,h2:7001?read_from=nearest");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->redacted(), "redis-cluster://app:***@h1:7000,h2:7001");
  EXPECT_EQ(u->read_from, ReadFrom::nearest);
  auto plain = ClusterUrl::parse("redis-cluster://h1:7000");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->redacted(), "redis-cluster://h1:7000");
}

void expect_error(std::string_view url, errc code, std::string_view needle) {
  auto u = ClusterUrl::parse(url);
  ASSERT_FALSE(u) << url;
  EXPECT_EQ(u.error().code(), code) << u.error().to_string();
  EXPECT_NE(u.error().message().find(needle), std::string::npos)
      << "'" << u.error().message() << "' should mention '" << needle << "'";
  EXPECT_EQ(u.error().message().find("s3cret"), std::string::npos) << u.error().message();
}

TEST(ClusterUrl, ErrorsNameTheBadPart) {
  expect_error("redis://h1:7000", errc::invalid_argument, "unknown scheme 'redis'");
  expect_error("h1:7000", errc::invalid_argument, "missing scheme");
  expect_error("redis-cluster://", errc::invalid_argument, "no seed nodes");
  expect_error("redis-cluster://:s3cret@", errc::invalid_argument, "no seed nodes");
  expect_error("redis-cluster://h1:7000,,h2", errc::invalid_argument, "seed node 2 is empty");
  expect_error("redis-cluster://h1:7000,h2:99999", errc::invalid_argument,
               "seed node 2: invalid redis URL: port '99999'");
  expect_error("redis-cluster://h1:7000,h$2", errc::invalid_argument, "seed node 2");
  expect_error("redis-cluster://h1:7000/3", errc::invalid_argument, "only database 0");
  expect_error("redis-cluster://u:s3cret@h1?read_from=closest", errc::invalid_config,
               "'read_from': 'closest' is not primary, replica or nearest");
  expect_error("redis-cluster://u:s3cret@h1?max_redirects=-1", errc::invalid_config,
               "'max_redirects'");
  expect_error("redis-cluster://u:s3cret@h1?refresh_interval=soon", errc::invalid_config,
               "'refresh_interval'");
  expect_error("redis-cluster://u:s3cret@h1?max_size=lots", errc::invalid_config, "'max_size'");
  expect_error("redis-cluster://u:s3cret@h1?db=2", errc::invalid_argument, "only database 0");
  expect_error("redis-cluster://u:s3%ZZcret@h1", errc::invalid_argument,
               "bad percent-encoding in the password");
  expect_error("redis-cluster://h1#frag", errc::invalid_argument, "fragments");
}

}  // namespace
}  // namespace connpool::redis::cluster
