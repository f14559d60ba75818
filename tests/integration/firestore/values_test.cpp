// Every value type survives a round trip through the server exactly, and through JSON too.
#include "fixture.hpp"

#include <limits>

namespace connpool::firestore::test {
namespace {

using ValuesTest = FirestoreTest;

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

Map every_type(const std::string& project) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Map m;
  m["null"] = Null{};
  m["t"] = true;
  m["f"] = false;
  m["i_max"] = std::numeric_limits<std::int64_t>::max();
  m["i_min"] = std::numeric_limits<std::int64_t>::min();
  m["i_2_53_1"] = std::int64_t{9007199254740993};
  m["i_zero"] = 0;
  m["nan"] = nan;
  m["inf"] = std::numeric_limits<double>::infinity();
  m["ninf"] = -std::numeric_limits<double>::infinity();
  m["neg_zero"] = -0.0;
  m["pos_zero"] = 0.0;
  m["tenth"] = 0.1;
  m["denorm"] = std::numeric_limits<double>::denorm_min();
  m["dmax"] = std::numeric_limits<double>::max();
  m["ts_ns"] = Timestamp{1714566896, 123456789};
  m["ts_us"] = Timestamp{1714566896, 123456000};
  m["ts_1ns"] = Timestamp{0, 1};
  m["ts_min"] = Timestamp{-62135596800, 0};
  m["ts_max"] = Timestamp{253402300799, 999999999};
  m["unicode_nul"] = std::string("h\xC3\xA9llo \xF0\x9F\x98\x80 \0 after-nul \xE4\xB8\xAD", 28);
  m["empty_str"] = "";
  m["bytes_all"] = Bytes{all_bytes()};
  m["bytes_empty"] = Bytes{};
  m["ref"] = Reference{"projects/" + project + "/databases/(default)/documents/c/target"};
  m["geo"] = GeoPoint{-33.8688, 151.2093};
  m["geo_edge"] = GeoPoint{-90, 180};
  m["arr"] = Array{
      1, "two", 3.5, Null{}, Bytes{"\x00\x01"}, Timestamp{5, 5}, Map{{"deep", Array{-0.0, nan}}}};
  m["arr_empty"] = Array{};
  m["map_empty"] = Map{};
  m["nested"] = Map{{"a", Map{{"b", Map{{"c", std::numeric_limits<std::int64_t>::min()}}}}}};
  m["key with space"] = 1;
  m[std::string("k\xC3\xA9y")] = 2;
  return m;
}

/// Firestore stores timestamps with microsecond precision (documented: extra precision is
/// rounded down), so nanoseconds below a microsecond do not survive the server; they do survive
/// C++ <-> JSON (tests/unit/firestore/json_test.cpp and JsonFromGetWritesBackIdentically).
Value as_stored(const Value& v) {
  if (const auto* t = v.get_if<Timestamp>()) return Timestamp{t->seconds, t->nanos / 1000 * 1000};
  if (const auto* a = v.get_if<Array>()) {
    Array out;
    for (const auto& e : *a) out.push_back(as_stored(e));
    return out;
  }
  if (const auto* m = v.get_if<Map>()) {
    Map out;
    for (const auto& [k, e] : *m) out.emplace(k, as_stored(e));
    return out;
  }
  return v;
}

TEST_F(ValuesTest, EveryTypeRoundTripsThroughTheServerExactly) {
  const Map sent = every_type(options_.project_id);
  ASSERT_OK(db().set_document("values", "all", sent));
  const Map fields = as_stored(Value(sent)).as<Map>();
  auto d = db().get_document("values", "all");
  ASSERT_OK(d);
  ASSERT_TRUE(d->has_value());
  const auto& got = (*d)->fields;
  ASSERT_EQ(got.size(), fields.size());
  for (const auto& [k, v] : fields) {
    ASSERT_TRUE(got.contains(k)) << k;
    EXPECT_EQ(got.at(k), v) << k << ": sent " << dump(to_json(v)) << ", got "
                            << dump(to_json(got.at(k)));
  }
  // Microsecond timestamps, the server's precision, are kept exactly.
  EXPECT_EQ(got.at("ts_max"), Value(Timestamp{253402300799, 999999000}));
  EXPECT_EQ(got.at("ts_1ns"), Value(Timestamp{0, 0}));
}

TEST_F(ValuesTest, JsonFromGetWritesBackIdentically) {
  // What `connpool firestore get | set` does: document -> JSON text -> document -> server.
  ASSERT_OK(db().set_document("values", "src", every_type(options_.project_id)));
  auto src = db().get_document("values", "src");
  ASSERT_OK(src);
  const std::string text = dump(to_json(**src), 2);
  auto parsed = document_from_json(*parse_json(text));
  ASSERT_OK(parsed);
  ASSERT_OK(db().set_document("values", "copy", parsed->fields));
  auto copy = db().get_document("values", "copy");
  ASSERT_OK(copy);
  EXPECT_EQ((*copy)->fields, (*src)->fields);
  EXPECT_EQ(dump(to_json((*copy)->fields), 2), dump(to_json((*src)->fields), 2));
}

TEST_F(ValuesTest, InvalidValuesAreRejectedBeforeTheRpc) {
  auto bad_ref = db().set_document("values", "x", Map{{"r", Reference{"c/target"}}});
  ASSERT_FALSE(bad_ref);
  EXPECT_EQ(bad_ref.error().code(), errc::invalid_argument);
  EXPECT_NE(bad_ref.error().message().find("c/target"), std::string::npos);
  auto bad_ts = db().set_document("values", "x", Map{{"t", Timestamp{0, 1000000000}}});
  ASSERT_FALSE(bad_ts);
  EXPECT_EQ(bad_ts.error().code(), errc::invalid_argument);
  auto nested = db().set_document("values", "x", Map{{"a", Array{1, Array{2}}}});
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code(), errc::invalid_argument);
  EXPECT_NE(nested.error().message().find("a[1]"), std::string::npos) << nested.error().message();
  auto bad_key = db().set_document("values", "x", Map{{std::string("\xff"), 1}});
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace connpool::firestore::test
