// Deep JSON: Firestore allows 20 levels of nested maps and arrays; deeper input is refused with
// the path, and no step (parsing, converting) recurses once per level of the raw text.
#include "connpool/firestore/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace connpool::firestore {
namespace {

using nlohmann::json;

std::string nested_arrays(std::size_t n) {
  return "{\"a\":" + std::string(n, '[') + std::string(n, ']') + "}";
}

// `n` maps inside each other, the innermost holding 1: {"a":{"a":...{"a":1}}}
std::string nested_maps(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(n, '}');
  return s;
}

std::string tagged_maps(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "{\"mapValue\":{\"fields\":{\"k\":";
  s += "{\"integerValue\":\"1\"}";
  for (std::size_t i = 0; i < n; ++i) s += "}}}";
  return s;
}

TEST(JsonDepth, HundredThousandLevelsAreRefusedByTheParserWithThePath) {
  auto j = parse_json(nested_arrays(100000));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), errc::invalid_argument);
  const std::string& m = j.error().message();
  EXPECT_NE(m.find("deeper than"), std::string::npos) << m;
  EXPECT_NE(m.find("/a/0/0/0"), std::string::npos) << m;
  EXPECT_LT(m.size(), 1000u);
}

TEST(JsonDepth, StringsAndEscapesDoNotCountAsNesting) {
  auto j = parse_json(R"({"a":"[[[[{{{{\"[[[","b\"[":[1,{"c":"]]]"}]})");
  ASSERT_TRUE(j) << j.error().message();
}

TEST(JsonDepth, FirestoreLimitIsTwentyLevelsInLenientMode) {
  {
    auto j = parse_json(nested_maps(21));  // the fields object + 20 nested map values
    ASSERT_TRUE(j) << j.error().message();
    auto f = fields_from_json(*j, JsonMode::lenient);
    ASSERT_TRUE(f) << f.error().message();
  }
  {
    auto j = parse_json(nested_maps(22));
    ASSERT_TRUE(j) << j.error().message();
    auto f = fields_from_json(*j, JsonMode::lenient);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), errc::invalid_argument);
    EXPECT_NE(f.error().message().find("/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"),
              std::string::npos)
        << f.error().message();
    EXPECT_NE(f.error().message().find("20"), std::string::npos) << f.error().message();
  }
  {
    auto j = parse_json(nested_arrays(30));
    ASSERT_TRUE(j);
    auto f = fields_from_json(*j, JsonMode::lenient);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find("/a/0/0"), std::string::npos) << f.error().message();
  }
}

TEST(JsonDepth, FirestoreLimitIsTwentyLevelsInTaggedMode) {
  {
    auto j = parse_json("{\"x\":" + tagged_maps(20) + "}");
    ASSERT_TRUE(j) << j.error().message();
    auto f = fields_from_json(*j, JsonMode::tagged);
    ASSERT_TRUE(f) << f.error().message();
    // What was read prints back and reads again.
    auto again = fields_from_json(to_json(*f), JsonMode::tagged);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *f);
  }
  {
    auto j = parse_json("{\"x\":" + tagged_maps(21) + "}");
    ASSERT_TRUE(j) << j.error().message();
    auto f = fields_from_json(*j, JsonMode::tagged);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find("/x/mapValue/fields/k/mapValue"), std::string::npos)
        << f.error().message();
  }
}

TEST(JsonDepth, ValueFromJsonBoundsATreeBuiltInCode) {
  // A json tree built by a program, not parsed from text: the walk still stops at 20 levels.
  json deep = json::array();
  json* inner = &deep;
  for (int i = 0; i < 200; ++i) {
    inner->push_back(json::array());
    inner = &inner->back();
  }
  auto v = value_from_json(deep, JsonMode::lenient);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace connpool::firestore
