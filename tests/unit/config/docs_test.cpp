// docs/configuration.md documents every key the loader accepts (the field table is the source of
// truth, so a new key without documentation fails here).
#include "fields.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace connpool::config::detail {
namespace {

std::string read(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Docs, EveryKeyHasARow) {
  const std::string docs = read(CONNPOOL_CONFIG_DOCS);
  ASSERT_FALSE(docs.empty()) << "cannot read " << CONNPOOL_CONFIG_DOCS;
  for (std::string_view name : pool_field_names()) {
    EXPECT_NE(docs.find("| `" + std::string(name) + "` |"), std::string::npos) << name;
  }
  for (std::string_view name : admin_field_names()) {
    EXPECT_NE(docs.find("| `" + std::string(name) + "` |"), std::string::npos) << name;
  }
  for (const char* var : {"CONNPOOL_ENV", "CONNPOOL_CONFIG", "REDIS_URL", "FIRESTORE_EMULATOR_HOST",
                          "GOOGLE_CLOUD_PROJECT", "CONNPOOL_ADMIN_PORT", "CONNPOOL_ADMIN_TOKEN",
                          "CONNPOOL_POOLS__<NAME>__<FIELD>"}) {
    EXPECT_NE(docs.find("| `" + std::string(var) + "` |"), std::string::npos) << var;
  }
}

}  // namespace
}  // namespace connpool::config::detail
