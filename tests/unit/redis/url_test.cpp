#include "connpool/redis/url.hpp"

#include <gtest/gtest.h>

namespace connpool::redis {
namespace {

using std::chrono::milliseconds;

TEST(RedisUrl, Defaults) {
  auto u = RedisUrl::parse("redis://localhost");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->transport, Transport::tcp);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_TRUE(u->username.empty());
  EXPECT_TRUE(u->password.empty());
  EXPECT_TRUE(u->pipeline_auto);
  EXPECT_EQ(u->command_timeout, milliseconds(5000));
}

TEST(RedisUrl, FullTcp) {
  auto u = RedisUrl::parse("redis://app:s3cret@10.0.0.5:6380/3");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->username, "app");
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 3);
}

TEST(RedisUrl, PasswordOnlyLegacyForm) {
  auto u = RedisUrl::parse("redis://:pw@h");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->username.empty());
  EXPECT_EQ(u->password, "pw");
}

TEST(RedisUrl, PercentEncodedAndRawAtInPassword) {
  auto u = RedisUrl::parse("redis://us%65r:p%40ss@w0rd@h:1");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->username, "user");
  EXPECT_EQ(u->password, "p@ss@w0rd");
  EXPECT_EQ(u->host, "h");
}

TEST(RedisUrl, Ipv6) {
  auto u = RedisUrl::parse("redis://[::1]:7000/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->endpoint(), "[::1]:7000");
}

TEST(RedisUrl, TlsWithOptions) {
  auto u = RedisUrl::parse(
      "rediss://h:6390?tls_ca_file=/ca.pem&tls_cert_file=/c.pem&tls_key_file=/k.pem&tls_sni=redis."
      "example&tls_verify=false");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->transport, Transport::tls);
  EXPECT_EQ(u->tls.ca_file, "/ca.pem");
  EXPECT_EQ(u->tls.cert_file, "/c.pem");
  EXPECT_EQ(u->tls.key_file, "/k.pem");
  EXPECT_EQ(u->tls.sni, "redis.example");
  EXPECT_FALSE(u->tls.verify);
  EXPECT_EQ(u->tls_server_name(), "redis.example");
}

TEST(RedisUrl, TlsVerifyOnByDefault) {
  auto u = RedisUrl::parse("rediss://h");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls.verify);
  EXPECT_EQ(u->tls_server_name(), "h");
}

TEST(RedisUrl, UnixSocket) {
  auto u = RedisUrl::parse("unix:///var/run/redis.sock?db=4");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->transport, Transport::unix_socket);
  EXPECT_EQ(u->path, "/var/run/redis.sock");
  EXPECT_EQ(u->db, 4);
  EXPECT_EQ(u->endpoint(), "/var/run/redis.sock");
}

TEST(RedisUrl, UnixSocketWithCredentials) {
  auto u = RedisUrl::parse("unix://u:pw@/tmp/r.sock");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->username, "u");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->path, "/tmp/r.sock");
}

TEST(RedisUrl, PoolOptions) {
  auto u = RedisUrl::parse(
      "redis://h?min_size=5&max_size=20&acquire_timeout=250ms&connect_timeout=2s&"
      "validation_timeout=100ms&max_idle_time=1m&max_lifetime=1h&health_check_interval=10s&"
      "validate_after_idle=0&leak_detection_threshold=30s&command_timeout=750ms&min_idle=2&"
      "pipeline_auto=off&pipeline_max_in_flight=64&client_name=svc&sizing=predictive");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->pool.min_size, 5u);
  EXPECT_EQ(u->pool.max_size, 20u);
  EXPECT_EQ(u->pool.min_idle, 2u);
  EXPECT_EQ(u->pool.acquire_timeout, milliseconds(250));
  EXPECT_EQ(u->pool.connect_timeout, milliseconds(2000));
  EXPECT_EQ(u->pool.validation_timeout, milliseconds(100));
  EXPECT_EQ(u->pool.max_idle_time, milliseconds(60000));
  EXPECT_EQ(u->pool.max_lifetime, milliseconds(3600000));
  EXPECT_EQ(u->pool.health_check_interval, milliseconds(10000));
  EXPECT_EQ(u->pool.validate_after_idle, milliseconds(0));
  EXPECT_EQ(u->pool.leak_detection_threshold, milliseconds(30000));
  EXPECT_EQ(u->command_timeout, milliseconds(750));
  EXPECT_FALSE(u->pipeline_auto);
  EXPECT_EQ(u->pipeline_max_in_flight, 64u);
  EXPECT_EQ(u->client_name, "svc");
  EXPECT_EQ(u->pool.sizing, connpool::core::SizingMode::predictive);
}

TEST(RedisUrl, GoRedisAliases) {
  auto u = RedisUrl::parse(
      "redis://h?pool_size=7&min_idle_conns=1&dial_timeout=3s&pool_timeout=1s&read_timeout=2s");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->pool.max_size, 7u);
  EXPECT_EQ(u->pool.min_idle, 1u);
  EXPECT_EQ(u->pool.connect_timeout, milliseconds(3000));
  EXPECT_EQ(u->pool.acquire_timeout, milliseconds(1000));
  EXPECT_EQ(u->command_timeout, milliseconds(2000));
}

struct BadCase {
  const char* url;
  errc code;
  const char* must_mention;
};

class RedisUrlErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(RedisUrlErrors, NamesTheBadPartAndNeverThePassword) {
  const auto& c = GetParam();
  auto u = RedisUrl::parse(c.url);
  ASSERT_FALSE(u) << c.url;
  EXPECT_EQ(u.error().code(), c.code) << u.error().to_string();
  EXPECT_NE(u.error().message().find(c.must_mention), std::string::npos) << u.error().to_string();
  EXPECT_EQ(u.error().message().find("hunter2"), std::string::npos) << u.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(
    All, RedisUrlErrors,
    ::testing::Values(
        BadCase{"localhost:6379", errc::invalid_argument, "scheme"},
        BadCase{"http://u:hunter2@h", errc::invalid_argument, "'http'"},
        BadCase{"redis://u:hunter2@h:abc", errc::invalid_argument, "port 'abc'"},
        BadCase{"redis://u:hunter2@h:0", errc::invalid_argument, "port '0'"},
        BadCase{"redis://u:hunter2@h:70000", errc::invalid_argument, "port '70000'"},
        BadCase{"redis://u:hunter2@h:", errc::invalid_argument, "empty port"},
        BadCase{"redis://u:hunter2@/0", errc::invalid_argument, "missing host"},
        BadCase{"redis://u:hunter2@h/x", errc::invalid_argument, "database 'x'"},
        BadCase{"redis://u:hunter2%zz@h", errc::invalid_argument, "password"},
        BadCase{"redis://u:hunter2@[::1", errc::invalid_argument, "']'"},
        BadCase{"redis://u:hunter2@h?bogus=1", errc::invalid_config, "'bogus'"},
        BadCase{"redis://u:hunter2@h?max_size", errc::invalid_config, "'max_size'"},
        BadCase{"redis://u:hunter2@h?max_size=lots", errc::invalid_config, "'max_size'"},
        BadCase{"redis://u:hunter2@h?acquire_timeout=5parsecs", errc::invalid_config,
                "acquire_timeout"},
        BadCase{"redis://u:hunter2@h?min_size=30&max_size=20", errc::invalid_config, "min_size"},
        BadCase{"redis://u:hunter2@h?pipeline_auto=maybe", errc::invalid_config, "pipeline_auto"},
        BadCase{"redis://u:hunter2@h?sizing=elastic", errc::invalid_config, "'sizing'"},
        BadCase{"redis://u:hunter2@h?tls_ca_file=/x", errc::invalid_config, "rediss://"},
        BadCase{"rediss://u:hunter2@h?tls_cert_file=/x", errc::invalid_config, "tls_key_file"},
        BadCase{"unix://u:hunter2@relative.sock", errc::invalid_argument, "absolute"},
        BadCase{"redis://u:hunter2@h#frag", errc::invalid_argument, "fragment"},
        // Found by the redis_url fuzzer: control and non-ASCII bytes in the host.
        BadCase{"redis://u:hunter2@ca\x01"
                "che:6379",
                errc::invalid_argument, "unprintable"},
        BadCase{"redis://u:hunter2@ca\xc3\xa9"
                "che",
                errc::invalid_argument, "non-ASCII"},
        BadCase{"redis://u:hunter2@ca!che", errc::invalid_argument, "invalid character '!'"}));

TEST(RedisUrl, RedactedHidesPassword) {
  auto u = RedisUrl::parse("redis://app:hunter2@h:1/2?max_size=3");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->redacted(), "redis://app:***@h:1/2");
  auto t = RedisUrl::parse("rediss://:hunter2@h");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->redacted(), "rediss://:***@h:6379");
  auto x = RedisUrl::parse("unix:///tmp/s.sock?db=1");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->redacted(), "unix:///tmp/s.sock?db=1");
}

}  // namespace
}  // namespace connpool::redis
