// Hostile and careless URL input for redis://, redis-cluster:// and redis-sentinel://: passwords
// holding URL delimiters either work or are refused, and no byte of the userinfo ever appears
// in a message; durations are bounded; max_reply_bytes is parsed.
#include "connpool/redis/cluster/cluster_url.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"
#include "connpool/redis/url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connpool::redis {
namespace {

using std::chrono::milliseconds;

// Each password holds characters that mean something in a URL (raw, not percent-encoded),
// between bytes found in no message ("Qx7", "Zq9W"): any 3 of its bytes showing is a leak.
const std::vector<std::string> kPasswords = {
    "Qx7/Zq9W", "Qx7?Zq9W", "Qx7#Zq9W", "Qx7@Zq9W",
    "Qx7:Zq9W", "Qx7%Zq9W", "Qx7 Zq9W", "Qx7/b?c#d@e:f%g Zq9W"};

// The password's bytes that must never be echoed: every run of 3+ characters of it.
void expect_no_secret(const std::string& message, const std::string& password) {
  for (std::size_t i = 0; i + 3 <= password.size(); ++i) {
    const std::string piece = password.substr(i, 3);
    EXPECT_EQ(message.find(piece), std::string::npos)
        << "message leaks '" << piece << "' of the password: " << message;
  }
}

template <class Url>
void check_password(const std::string& scheme, const std::string& hosts, const std::string& pw,
                    const std::string& tail = "") {
  const std::string url = scheme + "default:" + pw + "@" + hosts + tail;
  auto u = Url::parse(url);
  if (!u) {
    // Refused: only a raw '?', '#' or a broken '%' escape may be, and without echoing it.
    const bool may_refuse = pw.find_first_of("?#%") != std::string::npos;
    EXPECT_TRUE(may_refuse) << url << ": " << u.error().message();
    expect_no_secret(u.error().message(), pw);
    return;
  }
  expect_no_secret(u->redacted(), pw);
}

TEST(HostileUrl, PasswordsWithDelimitersWorkOrAreRefusedSilently) {
  for (const auto& pw : kPasswords) {
    SCOPED_TRACE(pw);
    check_password<RedisUrl>("redis://", "127.0.0.1:6379", pw);
    check_password<RedisUrl>("redis://", "127.0.0.1:6379", pw, "/2?command_timeout=1s");
    check_password<cluster::ClusterUrl>("redis-cluster://", "10.0.0.1:7000,10.0.0.2:7001", pw);
    check_password<cluster::ClusterUrl>("redis-cluster://", "10.0.0.1:7000", pw,
                                        "?read_from=replica");
    check_password<SentinelUrl>("redis-sentinel://", "10.0.0.1:26379,10.0.0.2:26379", pw,
                                "/mymaster");
    check_password<SentinelUrl>("redis-sentinel://", "10.0.0.1:26379", pw, "/mymaster/1");
  }
}

TEST(HostileUrl, PasswordWithSlashAtColonSpaceIsParsedWhole) {
  auto u = RedisUrl::parse("redis://default:hunt/er2@127.0.0.1:6379");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->username, "default");
  EXPECT_EQ(u->password, "hunt/er2");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6379);

  u = RedisUrl::parse("redis://u:a/b@c:d e@host:6380/4?db=4");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->password, "a/b@c:d e");
  EXPECT_EQ(u->host, "host");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 4);

  // Percent-encoded forms of the refused characters work.
  u = RedisUrl::parse("redis://u:a%3Fb%23c%25@host");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->password, "a?b#c%");

  auto c = cluster::ClusterUrl::parse("redis-cluster://:x/y@10.0.0.1:7000,10.0.0.2:7000");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->node.password, "x/y");
  ASSERT_EQ(c->seeds.size(), 2u);

  auto s = SentinelUrl::parse("redis-sentinel://:x/y@10.0.0.1:26379/mymaster");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->master_name, "mymaster");
  EXPECT_EQ(s->master.password, "x/y");
}

TEST(HostileUrl, RawQuestionMarkInPasswordIsRefusedWithAHint) {
  auto u = RedisUrl::parse("redis://default:pa?ss@127.0.0.1:6379?db=1");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message().find("%3F"), std::string::npos) << u.error().message();
  EXPECT_EQ(u.error().message().find("ss@"), std::string::npos) << u.error().message();
  // A query value holding '@' is not mistaken for a userinfo.
  auto ok = RedisUrl::parse("redis://127.0.0.1:6379?client_name=a@b");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->client_name, "a@b");
}

TEST(HostileUrl, DurationsAreBoundedAtParseTime) {
  for (const char* name : {"command_timeout", "acquire_timeout", "max_lifetime", "connect_timeout",
                           "health_check_interval", "max_idle_time", "validation_timeout"}) {
    SCOPED_TRACE(name);
    auto u = RedisUrl::parse(std::string("redis://h?") + name + "=3000000h");
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().code(), errc::invalid_config);
    EXPECT_NE(u.error().message().find(name), std::string::npos) << u.error().message();
    EXPECT_TRUE(RedisUrl::parse(std::string("redis://h?") + name + "=8760h"));
  }
  auto c = cluster::ClusterUrl::parse("redis-cluster://h:7000?refresh_interval=9000h");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("refresh_interval"), std::string::npos);
  auto cn = cluster::ClusterUrl::parse("redis-cluster://h:7000?command_timeout=3000000h");
  ASSERT_FALSE(cn);
  EXPECT_NE(cn.error().message().find("command_timeout"), std::string::npos);
  auto s = SentinelUrl::parse("redis-sentinel://h:26379/m?sentinel_refresh=9000h");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("sentinel_refresh"), std::string::npos);
}

TEST(HostileUrl, MaxReplyBytes) {
  auto u = RedisUrl::parse("redis://h");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->max_reply_bytes, std::size_t{512} * 1024 * 1024);
  u = RedisUrl::parse("redis://h?max_reply_bytes=64MiB");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->max_reply_bytes, std::size_t{64} * 1024 * 1024);
  u = RedisUrl::parse("redis://h?max_reply_bytes=4096");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->max_reply_bytes, 4096u);
  for (const char* bad : {"0", "-1", "5GiB", "12XB", "", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    auto b = RedisUrl::parse(std::string("redis://h?max_reply_bytes=") + bad);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message().find("max_reply_bytes"), std::string::npos);
  }
  auto c = cluster::ClusterUrl::parse("redis-cluster://h:7000?max_reply_bytes=1MiB");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->node.max_reply_bytes, 1024u * 1024u);
}

}  // namespace
}  // namespace connpool::redis
