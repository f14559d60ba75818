#include "redact.hpp"

#include <gtest/gtest.h>

namespace connpool::monitor::detail {
namespace {

TEST(Redact, PasswordInUserinfo) {
  EXPECT_EQ(redact_secrets("redis://user:s3cret@host:6379/0"), "redis://user:***@host:6379/0");
  EXPECT_EQ(redact_secrets("rediss://:s3cret@host"), "rediss://:***@host");
  EXPECT_EQ(redact_secrets("redis://u:p@ss@host/1"), "redis://u:***@host/1");
}

TEST(Redact, AlreadyRedactedOrNoSecretIsUnchanged) {
  for (const char* s :
       {"redis://:***@127.0.0.1:6379/0", "redis://127.0.0.1:6379", "redis://user@host",
        "firestore://projects/p/databases/(default)", "connection refused", ""}) {
    EXPECT_EQ(redact_secrets(s), s);
  }
}

TEST(Redact, UrlsInsideMessages) {
  EXPECT_EQ(redact_secrets("connect to redis://a:pw@h:1 failed; retry redis://b:pw2@h:2/3"),
            "connect to redis://a:***@h:1 failed; retry redis://b:***@h:2/3");
}

TEST(Redact, SecretQueryParameters) {
  EXPECT_EQ(redact_secrets("redis://h:6379/0?password=x&db=1&token=abc"),
            "redis://h:6379/0?password=***&db=1&token=***");
  EXPECT_EQ(redact_secrets("https://h/p?key=AIza123"), "https://h/p?key=***");
  EXPECT_EQ(redact_secrets("https://h/p?keyspace=x"), "https://h/p?keyspace=x");
}

}  // namespace
}  // namespace connpool::monitor::detail
