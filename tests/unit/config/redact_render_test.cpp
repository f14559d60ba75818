// redact_url() and `config show`'s renderings: origins shown, secrets never.
#include "connpool/config/load.hpp"
#include "connpool/config/redact.hpp"
#include "connpool/config/render.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace connpool::config {
namespace {

struct RedactCase {
  const char* in;
  const char* out;
};

class Redact : public ::testing::TestWithParam<RedactCase> {};

TEST_P(Redact, HidesPasswords) {
  EXPECT_EQ(redact_url(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(
    Urls, Redact,
    ::testing::Values(RedactCase{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
                      RedactCase{"redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"},
                      RedactCase{"redis://:pw@h", "redis://:***@h"},
                      RedactCase{"redis://pw@h", "redis://***@h"},
                      RedactCase{"rediss://u:p@ss@h:6380", "rediss://u:***@h:6380"},
                      RedactCase{"redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"},
                      RedactCase{"redis://h?Token=t#frag", "redis://h?Token=***#frag"},
                      RedactCase{"unix://u:pw@/run/redis.sock", "unix://u:***@/run/redis.sock"},
                      RedactCase{"redis-cluster://u:pw@h1:7000,h2:7001/?read_from=replica",
                                 "redis-cluster://u:***@h1:7000,h2:7001/?read_from=replica"},
                      RedactCase{
                          "redis-sentinel://:pw@s1,s2:26380/mymaster/1?sentinel_password=sp",
                          "redis-sentinel://:***@s1,s2:26380/mymaster/1?sentinel_password=***"},
                      RedactCase{"redis://h?sentinel_username=u&auth_token=t",
                                 "redis://h?sentinel_username=u&auth_token=***"},
                      RedactCase{"pw@localhost:6379", "***@localhost:6379"},
                      RedactCase{"localhost:6379", "localhost:6379"}, RedactCase{"", ""}));

TEST(Redact, Secret) {
  EXPECT_EQ(redact_secret(""), "");
  EXPECT_EQ(redact_secret("tok"), "***");
}

Config sample() {
  auto c = load_from_string(
      "environment: staging\n"
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://app:s3cret-pw@127.0.0.1:6379/0\n"
      "    max_size: 12\n"
      "  docs:\n"
      "    backend: firestore\n"
      "    project_id: proj\n"
      "admin:\n"
      "  token: s3cret-token\n",
      "config.yaml", {{"CONNPOOL_ADMIN_PORT", "9191"}}, Flags{{}, "production", {}});
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : Config{};
}

TEST(Render, TableShowsValuesAndOriginsWithoutSecrets) {
  const std::string t = render_table(sample());
  EXPECT_EQ(t.find("s3cret"), std::string::npos) << t;
  EXPECT_NE(t.find("environment: production  (flag:--env)"), std::string::npos) << t;
  EXPECT_NE(t.find("pool cache (redis)"), std::string::npos) << t;
  EXPECT_NE(t.find("redis://app:***@127.0.0.1:6379/0"), std::string::npos) << t;
  EXPECT_NE(t.find("pool docs (firestore)"), std::string::npos) << t;
  EXPECT_NE(t.find("9191"), std::string::npos) << t;
  EXPECT_NE(t.find("env:CONNPOOL_ADMIN_PORT"), std::string::npos) << t;
  EXPECT_NE(t.find("profile:production"), std::string::npos) << t;  // docs max_size
  EXPECT_NE(t.find("config.yaml:6:15"), std::string::npos) << t;    // cache max_size
  // Backend-specific keys appear only under their backend.
  const auto docs_at = t.find("pool docs");
  EXPECT_EQ(t.find("project_id"), t.find("project_id", docs_at));
}

TEST(Render, TableSaysWhenThereAreNoPools) {
  auto c = load({}, {});
  ASSERT_TRUE(c);
  EXPECT_NE(render_table(*c).find("no pools configured"), std::string::npos);
}

TEST(Render, JsonIsTypedAndRedacted) {
  const std::string text = render_json(sample());
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["environment"]["value"], "production");
  EXPECT_EQ(j["environment"]["source"], "flag:--env");
  EXPECT_EQ(j["file"]["value"], "config.yaml");
  EXPECT_EQ(j["admin"]["port"]["value"], 9191);
  EXPECT_EQ(j["admin"]["token"]["value"], "***");
  EXPECT_EQ(j["admin"]["token"]["source"], "config.yaml:11:10");
  const auto& cache = j["pools"]["cache"];
  EXPECT_EQ(cache["backend"]["value"], "redis");
  EXPECT_EQ(cache["max_size"]["value"], 12);
  EXPECT_EQ(cache["max_size"]["source"], "config.yaml:6:15");
  EXPECT_EQ(cache["min_size"]["source"], "default");
  EXPECT_EQ(cache["max_idle_time"]["value"], "10m");
  EXPECT_EQ(cache["auto_pipeline"]["value"], true);
  EXPECT_DOUBLE_EQ(cache["max_lifetime_jitter"]["value"].get<double>(), 0.1);
  EXPECT_FALSE(cache.contains("project_id"));
  EXPECT_EQ(j["pools"]["docs"]["max_size"]["value"], 20);
  EXPECT_EQ(j["pools"]["docs"]["max_size"]["source"], "profile:production");
  EXPECT_EQ(j["pools"]["docs"]["database"]["value"], "(default)");
}

// `proxies:` are listed with their keys and origins; password_env shows the variable's name,
// never its value (which the loader does not read).
TEST(Render, ProxiesAreListedWithThePasswordVariableNameOnly) {
  auto c = load_from_string(
      "pools:\n"
      "  cache:\n"
      "    backend: redis\n"
      "    url: redis://app:s3cret-pw@127.0.0.1:6379/0\n"
      "proxies:\n"
      "  sidecar:\n"
      "    pool: cache\n"
      "    listen: [127.0.0.1:6380, unix:///run/connpool.sock]\n"
      "    password_env: PROXY_PASSWORD\n"
      "    max_clients: 500\n",
      "config.yaml", {{"PROXY_PASSWORD", "s3cret-proxy"}}, Flags{});
  ASSERT_TRUE(c) << c.error().message();
  const std::string t = render_table(*c);
  EXPECT_EQ(t.find("s3cret"), std::string::npos) << t;
  EXPECT_NE(t.find("proxy sidecar (-> pool cache)"), std::string::npos) << t;
  EXPECT_NE(t.find("127.0.0.1:6380, unix:///run/connpool.sock"), std::string::npos) << t;
  EXPECT_NE(t.find("PROXY_PASSWORD"), std::string::npos) << t;
  EXPECT_NE(t.find("config.yaml:10:18"), std::string::npos) << t;  // max_clients

  const std::string text = render_json(*c);
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  const auto doc = nlohmann::json::parse(text);
  const auto& p = doc["proxies"]["sidecar"];
  EXPECT_EQ(p["pool"]["value"], "cache");
  EXPECT_EQ(p["listen"]["value"], nlohmann::json({"127.0.0.1:6380", "unix:///run/connpool.sock"}));
  EXPECT_EQ(p["password_env"]["value"], "PROXY_PASSWORD");
  EXPECT_EQ(p["max_clients"]["value"], 500);
  EXPECT_EQ(p["max_clients"]["source"], "config.yaml:10:18");
  EXPECT_EQ(p["max_pinned"]["source"], "default");
  EXPECT_EQ(p["allow_config_set"]["value"], false);
  EXPECT_EQ(p["idle_timeout"]["value"], "0ms");
}

}  // namespace
}  // namespace connpool::config
