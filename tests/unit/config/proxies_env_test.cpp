// `proxies:` from CONNPOOL_PROXIES__<NAME>__<KEY> variables and --set proxies.<name>.<key>=VALUE
// (docs/proxy.md#under-connpool-serve): alone, on top of the file, with their origins in
// `config show`, and with the same errors as the file.
#include "connpool/config/load.hpp"
#include "connpool/config/render.hpp"

#include <gtest/gtest.h>

namespace connpool::config {
namespace {

constexpr std::string_view kPools =
    "pools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1\n";

TEST(ProxiesEnv, AProxyFromVariablesAlone) {
  auto c =
      load_from_string(kPools, "config.yaml",
                       {{"CONNPOOL_PROXIES__EDGE__POOL", "cache"},
                        {"CONNPOOL_PROXIES__EDGE__LISTEN", "127.0.0.1:6380, unix:///tmp/e.sock"},
                        {"CONNPOOL_PROXIES__EDGE__IDLE_TIMEOUT", "30s"},
                        {"CONNPOOL_PROXIES__EDGE__MAX_PINNED", "3"}});
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->proxies.size(), 1u);
  const ProxySpec& p = c->proxies[0];
  EXPECT_EQ(p.name, "edge");
  EXPECT_EQ(p.pool, "cache");
  EXPECT_EQ(p.listen, (std::vector<std::string>{"127.0.0.1:6380", "unix:///tmp/e.sock"}));
  EXPECT_EQ(p.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(p.max_pinned, 3u);
  EXPECT_EQ(p.max_clients, 10000u);  // default
  EXPECT_EQ(p.origin_of("listen").to_string(), "env:CONNPOOL_PROXIES__EDGE__LISTEN");
}

TEST(ProxiesEnv, VariablesThenFlagsOverrideTheFileKeyByKey) {
  const std::string yaml = std::string(kPools) +
                           "proxies:\n  web-side:\n    pool: cache\n    listen: 127.0.0.1:6380\n"
                           "    max_clients: 50\n";
  Flags flags;
  flags.set = {"proxies.web-side.listen=127.0.0.1:7000", "proxies.web-side.max_pinned=2"};
  auto c = load_from_string(yaml, "config.yaml",
                            {{"CONNPOOL_PROXIES__WEB_SIDE__LISTEN", "127.0.0.1:6390"},
                             {"CONNPOOL_PROXIES__WEB_SIDE__MAX_CLIENTS", "60"}},
                            flags);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->proxies.size(), 1u);  // WEB_SIDE is the file's web-side
  const ProxySpec& p = c->proxies[0];
  EXPECT_EQ(p.name, "web-side");
  EXPECT_EQ(p.listen, std::vector<std::string>{"127.0.0.1:7000"});  // flag over variable
  EXPECT_EQ(p.max_clients, 60u);                                    // variable over file
  EXPECT_EQ(p.max_pinned, 2u);
  EXPECT_EQ(p.origin_of("pool").to_string(), "config.yaml:7:11");
  EXPECT_EQ(p.origin_of("max_clients").to_string(), "env:CONNPOOL_PROXIES__WEB_SIDE__MAX_CLIENTS");
  EXPECT_EQ(p.origin_of("listen").to_string(), "flag:--set");

  // config show lists the proxy with each key's origin.
  const std::string table = render_table(*c);
  EXPECT_NE(table.find("proxy web-side (-> pool cache)"), std::string::npos) << table;
  EXPECT_NE(table.find("env:CONNPOOL_PROXIES__WEB_SIDE__MAX_CLIENTS"), std::string::npos) << table;
  EXPECT_NE(table.find("flag:--set"), std::string::npos) << table;
  const std::string json = render_json(*c);
  EXPECT_NE(json.find("\"web-side\""), std::string::npos) << json;
}

TEST(ProxiesEnv, FlagsAloneDefineAProxy) {
  Flags flags;
  flags.set = {"proxies.side.pool=cache", "proxies.side.listen=127.0.0.1:6380"};
  auto c = load_from_string(kPools, "config.yaml", {}, flags);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->proxies.size(), 1u);
  EXPECT_EQ(c->proxies[0].listen, std::vector<std::string>{"127.0.0.1:6380"});
}

struct BadCase {
  const char* name;
  EnvMap env;
  std::vector<std::string> set;
  std::string message;
};

class ProxiesEnvErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ProxiesEnvErrors, NameTheVariableOrFlagAndTheRule) {
  Flags flags;
  flags.set = GetParam().set;
  auto c = load_from_string(kPools, "config.yaml", GetParam().env, flags);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::invalid_config);
  EXPECT_EQ(c.error().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Env, ProxiesEnvErrors,
    ::testing::Values(
        BadCase{"unknown_key",
                {{"CONNPOOL_PROXIES__EDGE__LISTN", "127.0.0.1:1"}},
                {},
                "env:CONNPOOL_PROXIES__EDGE__LISTN: proxies.edge.listn: unknown key; did you mean "
                "'listen'?"},
        BadCase{"no_key",
                {{"CONNPOOL_PROXIES__EDGE", "x"}},
                {},
                "env:CONNPOOL_PROXIES__EDGE: proxies: expected CONNPOOL_PROXIES__<NAME>__<KEY>"},
        BadCase{"no_listen",
                {{"CONNPOOL_PROXIES__EDGE__POOL", "cache"}},
                {},
                "env:CONNPOOL_PROXIES__EDGE__POOL: proxies.edge.listen: needs at least one "
                "address"},
        BadCase{"missing_pool",
                {},
                {"proxies.edge.pool=nope", "proxies.edge.listen=127.0.0.1:1"},
                "flag:--set: proxies.edge.pool: no pool is called 'nope'"},
        BadCase{"missing_pool_names_its_variable",
                {{"CONNPOOL_PROXIES__EDGE__LISTEN", "127.0.0.1:1"},
                 {"CONNPOOL_PROXIES__EDGE__POOL", "nope"}},
                {},
                "env:CONNPOOL_PROXIES__EDGE__POOL: proxies.edge.pool: no pool is called 'nope'"},
        BadCase{"bad_value",
                {},
                {"proxies.edge.pool=cache", "proxies.edge.listen=127.0.0.1:1",
                 "proxies.edge.max_clients=many"},
                "flag:--set: proxies.edge.max_clients: must be a whole number >= 0, got 'many'"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace connpool::config
