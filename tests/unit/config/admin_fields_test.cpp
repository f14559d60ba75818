// The admin server's hardening keys (issue 16): protect_all, allowed_hosts, max_connections,
// idle_timeout, from YAML and --set, with their defaults and their rules.
#include "connpool/config/load.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace connpool::config {
namespace {

using namespace std::chrono_literals;

TEST(AdminFields, Defaults) {
  auto c = load_from_string("", "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->admin.protect_all);
  EXPECT_TRUE(c->admin.allowed_hosts.empty());
  EXPECT_EQ(c->admin.max_connections, 64u);
  EXPECT_EQ(c->admin.idle_timeout, 5000ms);
}

TEST(AdminFields, FromYamlAndFlags) {
  const std::string yaml =
      "admin:\n"
      "  protect_all: true\n"
      "  allowed_hosts: 'pool-admin.internal, Admin.Example.com'\n"
      "  max_connections: 32\n"
      "  idle_timeout: 2s\n";
  auto c = load_from_string(yaml, "c.yaml", {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->admin.protect_all);
  EXPECT_EQ(c->admin.allowed_hosts,
            (std::vector<std::string>{"pool-admin.internal", "Admin.Example.com"}));
  EXPECT_EQ(c->admin.max_connections, 32u);
  EXPECT_EQ(c->admin.idle_timeout, 2000ms);
  EXPECT_EQ(c->admin.origin_of("allowed_hosts").to_string(), "c.yaml:3:18");

  auto f = load_from_string(yaml, "c.yaml", {},
                            Flags{{}, {}, {"admin.max_connections=8", "admin.allowed_hosts=a.b"}});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->admin.max_connections, 8u);
  EXPECT_EQ(f->admin.allowed_hosts, (std::vector<std::string>{"a.b"}));
}

TEST(AdminFields, BrokenValuesNameTheKey) {
  for (const char* yaml :
       {"admin:\n  max_connections: 0\n", "admin:\n  idle_timeout: 0ms\n",
        "admin:\n  protect_all: maybe\n", "admin:\n  allowed_hosts: 'http://evil.example/'\n",
        "admin:\n  allowed_hosts: 'h.example:9464'\n"}) {
    auto c = load_from_string(yaml, "c.yaml", {});
    ASSERT_FALSE(c) << yaml;
    EXPECT_NE(c.error().message().find("admin."), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace connpool::config
