// --listen values: TCP (IPv4, [IPv6], localhost) and Unix sockets, and what is refused.
#include "connpool/proxy/listen_address.hpp"

#include <gtest/gtest.h>

namespace connpool::proxy {
namespace {

TEST(ListenAddress, TcpAndUnix) {
  auto a = parse_listen_address("127.0.0.1:6380");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, ListenAddress::Kind::tcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->to_string(), "[::1]:0");
  EXPECT_EQ(parse_listen_address("localhost:1")->host, "127.0.0.1");
  auto u = parse_listen_address("unix:///run/connpool.sock");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->kind, ListenAddress::Kind::unix_socket);
  EXPECT_EQ(u->path, "/run/connpool.sock");
  EXPECT_EQ(u->to_string(), "unix:///run/connpool.sock");
  EXPECT_EQ(parse_listen_address("unix:/tmp/p.sock")->path, "/tmp/p.sock");
}

TEST(ListenAddress, BadValuesNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {"6380", "expected host:port"},
      {":6380", "host is empty"},
      {"127.0.0.1:65536", "port must be a number"},
      {"127.0.0.1:x", "port must be a number"},
      {"[::1", "expected [ipv6]:port"},
      {"unix://relative.sock", "absolute path"},
  };
  for (const auto& [text, part] : cases) {
    auto r = parse_listen_address(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_NE(r.error().message().find(part), std::string::npos) << r.error().message();
  }
  auto long_path = parse_listen_address("unix:///" + std::string(200, 'a'));
  ASSERT_FALSE(long_path);
  EXPECT_NE(long_path.error().message().find("too long"), std::string::npos);
}

}  // namespace
}  // namespace connpool::proxy
