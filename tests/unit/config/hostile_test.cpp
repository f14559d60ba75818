// Hostile and careless configuration input: passwords holding URL delimiters never leak into a
// message or a rendering, durations are bounded, and a secret-holding file readable by others
// is warned about.
#include "connpool/config/load.hpp"
#include "connpool/config/redact.hpp"
#include "connpool/config/render.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace connpool::config {
namespace {

// Each password holds URL delimiters, raw, between bytes that appear in no message ("Qx7",
// "Zq9W"), so any 3 of its bytes showing up is a leak.
const std::vector<std::string> kPasswords = {
    "Qx7/Zq9W", "Qx7?Zq9W", "Qx7#Zq9W", "Qx7@Zq9W",
    "Qx7:Zq9W", "Qx7%Zq9W", "Qx7 Zq9W", "Qx7/b?c#d@e:f%g Zq9W"};

void expect_no_secret(const std::string& text, const std::string& password) {
  for (std::size_t i = 0; i + 3 <= password.size(); ++i) {
    const std::string piece = password.substr(i, 3);
    EXPECT_EQ(text.find(piece), std::string::npos)
        << "leaks '" << piece << "' of the password: " << text;
  }
}

TEST(HostileConfig, RedactUrlHidesEveryPasswordByte) {
  for (const auto& pw : kPasswords) {
    for (const std::string& prefix :
         {std::string("redis://default:"), std::string("rediss://:"),
          std::string("redis-cluster://u:"), std::string("redis-sentinel://:")}) {
      for (const std::string& tail :
           {std::string("@127.0.0.1:6379"), std::string("@h1:7000,h2:7001/mymaster?db=1"),
            std::string("@h:6379/0?command_timeout=1s")}) {
        const std::string url = prefix + pw + tail;
        SCOPED_TRACE(url);
        const std::string shown = redact_url(url);
        expect_no_secret(shown, pw);
        EXPECT_NE(shown.find("***"), std::string::npos) << shown;
      }
    }
  }
  // The host part stays readable.
  EXPECT_EQ(redact_url("redis://default:hunt/er2@127.0.0.1:6379"),
            "redis://default:***@127.0.0.1:6379");
}

TEST(HostileConfig, UrlPasswordsNeverInLoadErrorsOrShow) {
  for (const auto& pw : kPasswords) {
    SCOPED_TRACE(pw);
    EnvMap env{{"REDIS_URL", "redis://default:" + pw + "@127.0.0.1:6379"}};
    auto c = load(env);
    if (!c) {
      expect_no_secret(c.error().message(), pw);
      continue;
    }
    expect_no_secret(render_table(*c), pw);
    expect_no_secret(render_json(*c, 2), pw);
  }
  // The slash form (common in generated passwords) loads.
  auto c = load({{"REDIS_URL", "redis://default:hunt/er2@127.0.0.1:6379"}});
  ASSERT_TRUE(c) << c.error().message();
}

TEST(HostileConfig, SchemeTypoMasksTheWholeUrl) {
  for (const char* url : {"redis:/default:hunt2er@127.0.0.1:6379", "redis:default:hunt2er@h",
                          "http://default:hunt2er@h", "default:hunt2er@h:6379"}) {
    SCOPED_TRACE(url);
    auto c = load({{"REDIS_URL", url}});
    ASSERT_FALSE(c);
    expect_no_secret(c.error().message(), "default:hunt2er");
  }
}

TEST(HostileConfig, DurationsAreBounded) {
  auto c = load({{"REDIS_URL", "redis://127.0.0.1:6379"}},
                Flags{std::nullopt, std::nullopt, {"pools.redis.acquire_timeout=3000000h"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("acquire_timeout"), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("1 year"), std::string::npos) << c.error().message();
  auto in_url = load({{"REDIS_URL", "redis://127.0.0.1:6379?command_timeout=3000000h"}});
  ASSERT_FALSE(in_url);
  EXPECT_NE(in_url.error().message().find("command_timeout"), std::string::npos)
      << in_url.error().message();
  auto fine = load({{"REDIS_URL", "redis://127.0.0.1:6379"}},
                   Flags{std::nullopt, std::nullopt, {"pools.redis.max_lifetime=8760h"}});
  ASSERT_TRUE(fine) << fine.error().message();
}

TEST(HostileConfig, DeepYamlIsAnErrorNotACrash) {
  // yaml-cpp guards its own recursion; the loader turns its refusal into a located error.
  for (const std::string& yaml :
       {"pools: " + std::string(100000, '[') + std::string(100000, ']') + "\n",
        "pools: " + std::string(100000, '{') + "\n"}) {
    auto c = load_from_string(yaml, "deep.yaml", {});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), errc::invalid_config);
    EXPECT_NE(c.error().message().find("deep.yaml"), std::string::npos) << c.error().message();
  }
}

class SecretFile {
 public:
  SecretFile(const std::string& text, ::mode_t mode) {
    path_ = std::filesystem::temp_directory_path() /
            ("connpool_hostile_" + std::to_string(::getpid()) + "_" + std::to_string(mode) + "_" +
             std::to_string(counter_++) + ".yaml");
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  ~SecretFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

const char* kWithPassword =
    "pools:\n  cache:\n    backend: redis\n    url: redis://default:s3cretQx7@127.0.0.1:6379\n";
const char* kWithToken = "admin:\n  token: Jk4Wm2Xp\n";
const char* kWithoutSecret = "pools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1\n";

TEST(HostileConfig, WarnsWhenASecretFileIsReadableByOthers) {
  for (const char* text : {kWithPassword, kWithToken}) {
    SecretFile open_file(text, 0644);
    auto c = load({}, Flags{open_file.path(), std::nullopt, {}});
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(c->warnings.size(), 1u);
    EXPECT_NE(c->warnings[0].find("0644"), std::string::npos) << c->warnings[0];
    EXPECT_NE(c->warnings[0].find("chmod 600"), std::string::npos) << c->warnings[0];
    expect_no_secret(c->warnings[0], "s3cretQx7");
    expect_no_secret(c->warnings[0], "Jk4Wm2Xp");

    SecretFile closed_file(text, 0600);
    auto quiet = load({}, Flags{closed_file.path(), std::nullopt, {}});
    ASSERT_TRUE(quiet) << quiet.error().message();
    EXPECT_TRUE(quiet->warnings.empty());
  }
  SecretFile plain(kWithoutSecret, 0644);
  auto c = load({}, Flags{plain.path(), std::nullopt, {}});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->warnings.empty());
}

}  // namespace
}  // namespace connpool::config
