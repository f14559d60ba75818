// The JSON format: every type round-trips exactly, malformed input names where it is bad.
#include "connpool/firestore/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace connpool::firestore {
namespace {

using nlohmann::json;

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

Map every_type() {
  Map m;
  m["null"] = Null{};
  m["true"] = true;
  m["false"] = false;
  m["int_max"] = std::numeric_limits<std::int64_t>::max();
  m["int_min"] = std::numeric_limits<std::int64_t>::min();
  m["int_2_53_plus_1"] = std::int64_t{9007199254740993};
  m["nan"] = std::numeric_limits<double>::quiet_NaN();
  m["inf"] = std::numeric_limits<double>::infinity();
  m["ninf"] = -std::numeric_limits<double>::infinity();
  m["neg_zero"] = -0.0;
  m["tenth"] = 0.1;
  m["denormal"] = std::numeric_limits<double>::denorm_min();
  m["dmax"] = std::numeric_limits<double>::max();
  m["ts"] = Timestamp{1714566896, 123456789};
  m["ts_min"] = Timestamp{-62135596800, 0};
  m["unicode"] = std::string("h\xC3\xA9llo \xF0\x9F\x98\x80 nul:\0:end", 22);
  m["bytes"] = Bytes{all_bytes()};
  m["empty_bytes"] = Bytes{};
  m["ref"] = Reference{"projects/p/databases/(default)/documents/c/d"};
  m["geo"] = GeoPoint{-33.8688, 151.2093};
  m["arr"] = Array{1, "two", Array{3.5, Null{}}, Map{{"k", Bytes{"\x00\xff"}}}};
  m["empty_arr"] = Array{};
  m["empty_map"] = Map{};
  m["nested"] = Map{{"a", Map{{"b", Map{{"c", -0.0}}}}}};
  m["key with spaces.and.dots"] = "x";
  return m;
}

TEST(Json, EveryTypeRoundTripsExactlyThroughText) {
  const Map fields = every_type();
  const std::string text = dump(to_json(fields), 2);
  auto parsed = parse_json(text);
  ASSERT_TRUE(parsed);
  auto back = fields_from_json(*parsed);
  ASSERT_TRUE(back) << back.error().to_string();
  ASSERT_EQ(back->size(), fields.size());
  for (const auto& [k, v] : fields) {
    ASSERT_TRUE(back->contains(k)) << k;
    EXPECT_EQ(back->at(k), v) << k << ": " << dump(to_json(v));
  }
  // And a second trip gives the same text.
  EXPECT_EQ(dump(to_json(*back), 2), text);
}

TEST(Json, NumberOutOfRangeIsAnErrorNotACrash) {
  // Found by the firestore_json fuzzer: nlohmann reports this as out_of_range, not parse_error.
  auto r = parse_json("76E668");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("invalid JSON"), std::string::npos);
}

TEST(Json, UsesTheTaggedRestFormat) {
  EXPECT_EQ(to_json(Value(std::int64_t{9007199254740993})),
            json::parse(R"({"integerValue":"9007199254740993"})"));
  EXPECT_EQ(to_json(Value(std::numeric_limits<double>::quiet_NaN())),
            json::parse(R"({"doubleValue":"NaN"})"));
  EXPECT_EQ(dump(to_json(Value(-0.0))), R"({"doubleValue":-0.0})");
  EXPECT_EQ(to_json(Value(Bytes{"hi"})), json::parse(R"({"bytesValue":"aGk="})"));
  EXPECT_EQ(to_json(Value(Timestamp{0, 1000})),
            json::parse(R"({"timestampValue":"1970-01-01T00:00:00.000001Z"})"));
  EXPECT_EQ(to_json(Value(Array{})), json::parse(R"({"arrayValue":{"values":[]}})"));
  EXPECT_EQ(to_json(Value(Map{{"a", Null{}}})),
            json::parse(R"({"mapValue":{"fields":{"a":{"nullValue":null}}}})"));
  EXPECT_EQ(to_json(Value(GeoPoint{1.5, -2})),
            json::parse(R"({"geoPointValue":{"latitude":1.5,"longitude":-2.0}})"));
}

TEST(Json, DocumentRoundTrips) {
  Document d;
  d.name = "projects/p/databases/(default)/documents/users/alice";
  d.id = "alice";
  d.fields = every_type();
  d.create_time = Timestamp{1700000000, 1};
  d.update_time = Timestamp{1700000001, 999999999};
  auto back = document_from_json(*parse_json(dump(to_json(d))));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, d);
}

TEST(Json, AcceptsRestVariants) {
  auto v = value_from_json(json::parse(R"({"arrayValue":{}})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Value(Array{}));
  v = value_from_json(json::parse(R"({"mapValue":{}})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Value(Map{}));
  v = value_from_json(json::parse(R"({"doubleValue":3})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Value(3.0));
  v = value_from_json(json::parse(R"({"integerValue":42})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Value(42));
}

TEST(Json, LenientModeMapsPlainJson) {
  auto v = value_from_json(json::parse(R"({"a":1,"b":1.5,"c":"s","d":[true,null],
                                            "e":{"integerValue":"7"}})"),
                           JsonMode::lenient);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(*v, Value(Map{{"a", 1}, {"b", 1.5}, {"c", "s"}, {"d", Array{true, Null{}}}, {"e", 7}}));
  // Tagged mode refuses plain JSON.
  EXPECT_FALSE(value_from_json(json::parse("1")));
}

TEST(Json, ErrorsPointAtTheBadPart) {
  auto r = fields_from_json(json::parse(
      R"({"ok":{"stringValue":"x"},"bad":{"mapValue":{"fields":{"n":{"integerValue":"1.5"}}}}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("/bad/mapValue/fields/n/integerValue"), std::string::npos)
      << r.error().message();
  r = fields_from_json(json::parse(R"({"x":{"stringValue":"a","integerValue":"1"}})"));
  ASSERT_FALSE(r);
  r = fields_from_json(json::parse(R"({"x":{"fooValue":1}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fooValue"), std::string::npos);
  r = fields_from_json(json::parse(R"({"x":{"integerValue":"9223372036854775808"}})"));
  ASSERT_FALSE(r);
  r = fields_from_json(json::parse(R"({"x":{"bytesValue":"!!"}})"));
  ASSERT_FALSE(r);
  r = fields_from_json(json::parse(R"({"x":{"timestampValue":"yesterday"}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("yesterday"), std::string::npos);
  auto d = document_from_json(json::parse(R"({"fields":{},"bogus":1})"));
  ASSERT_FALSE(d);
  auto bad_text = parse_json("{\"a\": ");
  ASSERT_FALSE(bad_text);
  EXPECT_EQ(bad_text.error().code(), errc::invalid_argument);
}

TEST(Base64, AllLengthsAndAllByteValues) {
  const std::string all = all_bytes();
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string s = all.substr(0, n);
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, s) << n;
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm9=v"));
  EXPECT_FALSE(base64_decode("Z"));
}

}  // namespace
}  // namespace connpool::firestore
