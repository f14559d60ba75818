// Value identity semantics and timestamps.
#include "connpool/firestore/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace connpool::firestore {
namespace {

TEST(Value, HoldsEachTypeDistinctly) {
  EXPECT_EQ(Value().type(), Value::Type::null);
  EXPECT_EQ(Value(true).type(), Value::Type::boolean);
  EXPECT_EQ(Value(42).type(), Value::Type::integer);
  EXPECT_EQ(Value(std::int64_t{-1}).type(), Value::Type::integer);
  EXPECT_EQ(Value(1.5).type(), Value::Type::floating);
  EXPECT_EQ(Value("s").type(), Value::Type::string);
  EXPECT_EQ(Value(Bytes{"s"}).type(), Value::Type::bytes);
  EXPECT_EQ(Value(Reference{"projects/p/databases/d/documents/c/x"}).type(),
            Value::Type::reference);
  EXPECT_EQ(Value(GeoPoint{1, 2}).type(), Value::Type::geo_point);
  EXPECT_EQ(Value(Timestamp{1, 2}).type(), Value::Type::timestamp);
  EXPECT_EQ(Value(Array{1, "a"}).type(), Value::Type::array);
  EXPECT_EQ(Value(Map{{"k", 1}}).type(), Value::Type::map);
  EXPECT_NE(Value("s"), Value(Bytes{"s"}));
  EXPECT_NE(Value(1), Value(1.0));
}

TEST(Value, DoublesCompareByBits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Value(nan), Value(nan));
  EXPECT_NE(Value(0.0), Value(-0.0));
  EXPECT_EQ(Value(-0.0), Value(-0.0));
  EXPECT_EQ(Value(Array{nan, Map{{"x", -0.0}}}), Value(Array{nan, Map{{"x", -0.0}}}));
  EXPECT_NE(Value(Array{Map{{"x", 0.0}}}), Value(Array{Map{{"x", -0.0}}}));
}

TEST(Value, AccessorsReturnTheAlternative) {
  Value v(Map{{"a", Array{1, 2}}});
  ASSERT_NE(v.get_if<Map>(), nullptr);
  EXPECT_EQ(v.get_if<std::string>(), nullptr);
  EXPECT_EQ(v.as<Map>().at("a").as<Array>().size(), 2u);
  EXPECT_EQ(to_string(Value::Type::geo_point), "geo point");
}

TEST(Timestamp, FormatsWithShortestExactFraction) {
  EXPECT_EQ((Timestamp{0, 0}).to_rfc3339(), "1970-01-01T00:00:00Z");
  EXPECT_EQ((Timestamp{1714566896, 123000000}).to_rfc3339(), "2024-05-01T12:34:56.123Z");
  EXPECT_EQ((Timestamp{1714566896, 123456000}).to_rfc3339(), "2024-05-01T12:34:56.123456Z");
  EXPECT_EQ((Timestamp{1714566896, 123456789}).to_rfc3339(), "2024-05-01T12:34:56.123456789Z");
  EXPECT_EQ((Timestamp{1714566896, 1}).to_rfc3339(), "2024-05-01T12:34:56.000000001Z");
  EXPECT_EQ((Timestamp{-62135596800, 0}).to_rfc3339(), "0001-01-01T00:00:00Z");
  EXPECT_EQ((Timestamp{253402300799, 999999999}).to_rfc3339(), "9999-12-31T23:59:59.999999999Z");
  EXPECT_EQ((Timestamp{-1, 0}).to_rfc3339(), "1969-12-31T23:59:59Z");
}

TEST(Timestamp, ParsesWhatItFormatsAndOffsets) {
  for (const Timestamp t :
       {Timestamp{0, 0}, Timestamp{1714566896, 123456789}, Timestamp{-62135596800, 0},
        Timestamp{253402300799, 999999999}, Timestamp{-1, 5}, Timestamp{951782400, 1000}}) {
    auto p = Timestamp::from_rfc3339(t.to_rfc3339());
    ASSERT_TRUE(p) << t.to_rfc3339();
    EXPECT_EQ(*p, t) << t.to_rfc3339();
  }
  auto off = Timestamp::from_rfc3339("2024-05-01T14:34:56.5+02:00");
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, (Timestamp{1714566896, 500000000}));
  auto leap = Timestamp::from_rfc3339("2024-02-29T00:00:00Z");
  EXPECT_TRUE(leap);
}

TEST(Timestamp, RejectsMalformedTextNamingIt) {
  for (const char* bad : {"", "2024-05-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T00:00:00", "2024-05-01T00:00:00.Z",
                          "2024-05-01T00:00:00.1234567890Z", "2024-05-01T00:00:00Zjunk"}) {
    auto r = Timestamp::from_rfc3339(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_NE(r.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message();
  }
}

TEST(Document, PathAndFieldLookup) {
  Document d;
  d.name = "projects/p/databases/(default)/documents/users/alice/orders/o1";
  d.fields["total"] = 5;
  EXPECT_EQ(d.path(), "users/alice/orders/o1");
  ASSERT_NE(d.get("total"), nullptr);
  EXPECT_EQ(*d.get("total"), Value(5));
  EXPECT_EQ(d.get("missing"), nullptr);
}

}  // namespace
}  // namespace connpool::firestore
