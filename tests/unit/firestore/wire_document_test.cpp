// The wire-format Document parser (src/firestore/wire_document.cpp) against protobuf's own parse
// followed by document_from_proto, which it replaces on the run_query and get_document paths:
// the same Document for every value type, nesting, unknown fields, repeated fields, truncation
// at every byte, and the same refusals (invalid UTF-8, too deep).
#include "firestore/convert.hpp"
#include "firestore/wire_serialization.hpp"
#include "google/firestore/v1/firestore.pb.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace connpool::firestore::detail {
namespace {

// Protobuf's answer: nullopt when it refuses the bytes.
std::optional<Document> by_protobuf(const std::string& bytes) {
  v1::Document d;
  if (!d.ParseFromString(bytes)) return std::nullopt;
  return document_from_proto(d);
}

std::optional<Document> by_wire(const std::string& bytes) {
  Document d;
  if (!parse_document(bytes, d)) return std::nullopt;
  return d;
}

void expect_same(const std::string& bytes) {
  const auto want = by_protobuf(bytes);
  const auto got = by_wire(bytes);
  ASSERT_EQ(want.has_value(), got.has_value())
      << "protobuf and the wire parser disagree on " << bytes.size() << " bytes";
  if (want) {
    EXPECT_EQ(*got, *want);
  }
}

v1::Value proto_value(std::mt19937& rng, int depth);

void fill_fields(std::mt19937& rng, int depth, google::protobuf::Map<std::string, v1::Value>& m) {
  const int n = static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) m["k" + std::to_string(rng() % 6)] = proto_value(rng, depth + 1);
}

// A random Value of every type, nested up to 4 levels.
v1::Value proto_value(std::mt19937& rng, int depth) {
  v1::Value v;
  switch (rng() % (depth < 4 ? 11 : 9)) {
    case 0:
      v.set_null_value(google::protobuf::NULL_VALUE);
      break;
    case 1:
      v.set_boolean_value(rng() % 2 == 0);
      break;
    case 2:
      v.set_integer_value(static_cast<std::int64_t>(rng()) -
                          (std::int64_t{1} << 31) * static_cast<std::int64_t>(rng()));
      break;
    case 3:
      v.set_double_value(static_cast<double>(rng()) / 7.0 - 1e6);
      break;
    case 4:
      v.mutable_timestamp_value()->set_seconds(static_cast<std::int64_t>(rng() % 4000000000u) -
                                               2000000000);
      v.mutable_timestamp_value()->set_nanos(static_cast<std::int32_t>(rng() % 1000000000u));
      break;
    case 5:
      v.set_string_value(std::string(rng() % 40, 'x') + "\xc3\xa9\xe2\x82\xac");
      break;
    case 6:
      v.set_bytes_value(std::string("\xff\x00\x80", 3) + std::string(rng() % 20, 'b'));
      break;
    case 7:
      v.set_reference_value("projects/p/databases/(default)/documents/c/" +
                            std::to_string(rng() % 100));
      break;
    case 8:
      v.mutable_geo_point_value()->set_latitude(static_cast<double>(rng() % 180) - 90.5);
      v.mutable_geo_point_value()->set_longitude(static_cast<double>(rng() % 360) - 180.25);
      break;
    case 9: {
      auto* a = v.mutable_array_value();
      const int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) *a->add_values() = proto_value(rng, depth + 1);
      break;
    }
    default:
      fill_fields(rng, depth, *v.mutable_map_value()->mutable_fields());
      break;
  }
  return v;
}

v1::Document proto_document(std::mt19937& rng) {
  v1::Document d;
  d.set_name("projects/p/databases/(default)/documents/col/doc" + std::to_string(rng() % 1000));
  fill_fields(rng, 0, *d.mutable_fields());
  if (rng() % 4 != 0) {
    d.mutable_create_time()->set_seconds(static_cast<std::int64_t>(rng()));
    d.mutable_create_time()->set_nanos(static_cast<std::int32_t>(rng() % 1000000000u));
  }
  if (rng() % 4 != 0) d.mutable_update_time()->set_seconds(static_cast<std::int64_t>(rng()));
  return d;
}

TEST(WireDocument, EveryValueTypeAsProtobufReadsIt) {
  v1::Document d;
  d.set_name("projects/p/databases/(default)/documents/cities/SF");
  auto& f = *d.mutable_fields();
  f["null"].set_null_value(google::protobuf::NULL_VALUE);
  f["t"].set_boolean_value(true);
  f["f"].set_boolean_value(false);
  f["i"].set_integer_value(-42);
  f["max"].set_integer_value(std::numeric_limits<std::int64_t>::max());
  f["min"].set_integer_value(std::numeric_limits<std::int64_t>::min());
  f["d"].set_double_value(-0.0);
  f["nan"].set_double_value(std::numeric_limits<double>::quiet_NaN());
  f["inf"].set_double_value(-std::numeric_limits<double>::infinity());
  f["ts"].mutable_timestamp_value()->set_seconds(-62135596800);
  f["ts"].mutable_timestamp_value()->set_nanos(999999999);
  f["s"].set_string_value("caf\xc3\xa9 \xf0\x9f\x98\x80");
  f["empty"].set_string_value("");
  f["b"].set_bytes_value(std::string("\x00\xff\xfe", 3));
  f["ref"].set_reference_value("projects/p/databases/(default)/documents/c/x");
  f["geo"].mutable_geo_point_value()->set_latitude(-33.5);
  f["geo"].mutable_geo_point_value()->set_longitude(151.25);
  f["arr"].mutable_array_value()->add_values()->set_integer_value(1);
  f["arr"].mutable_array_value()->add_values()->set_string_value("two");
  f["empty_arr"].mutable_array_value();
  (*f["m"].mutable_map_value()->mutable_fields())["inner"].set_boolean_value(true);
  f["empty_map"].mutable_map_value();
  f["unset"];  // VALUE_TYPE_NOT_SET reads as null
  f[""].set_integer_value(7);
  d.mutable_create_time()->set_seconds(1700000000);
  d.mutable_create_time()->set_nanos(-5);  // out of range, but a value protobuf keeps
  d.mutable_update_time()->set_seconds(1700000001);
  const std::string bytes = d.SerializeAsString();
  expect_same(bytes);
  const auto got = by_wire(bytes);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "SF");
  EXPECT_EQ(got->fields.size(), f.size());
  EXPECT_EQ(got->create_time.nanos, -5);
}

TEST(WireDocument, RandomDocumentsAsProtobufReadsThem) {
  std::mt19937 rng(19);
  for (int i = 0; i < 2000; ++i) expect_same(proto_document(rng).SerializeAsString());
}

// Truncated anywhere: the same refusal, or (cut between fields) the same shorter document.
TEST(WireDocument, EveryTruncationAsProtobufReadsIt) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    const std::string bytes = proto_document(rng).SerializeAsString();
    for (std::size_t n = 0; n <= bytes.size(); ++n) expect_same(bytes.substr(0, n));
  }
}

// Concatenated messages are merged: a later name, key or scalar wins, messages merge.
TEST(WireDocument, RepeatedFieldsMergeAsInProtobuf) {
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    expect_same(proto_document(rng).SerializeAsString() + proto_document(rng).SerializeAsString());
  }
  // One Value with two members of its oneof: the last one decides.
  v1::Value a;
  a.set_string_value("first");
  v1::Value b;
  b.mutable_map_value();
  v1::Document d;
  d.set_name("projects/p/databases/d/documents/c/x");
  (*d.mutable_fields())["v"] = a;
  std::string bytes = d.SerializeAsString();
  (*d.mutable_fields())["v"] = b;
  bytes += d.SerializeAsString();
  expect_same(bytes);
  EXPECT_TRUE(by_wire(bytes)->fields.at("v").get_if<Map>());
}

TEST(WireDocument, UnknownFieldsAreSkippedAsInProtobuf) {
  std::mt19937 rng(5);
  const std::string doc = proto_document(rng).SerializeAsString();
  // Field 9, each wire type: varint, fixed64, length-delimited, a group, fixed32.
  const std::string unknown = std::string("\x48\x96\x01", 3) +                // 9: varint 150
                              std::string("\x49") + std::string(8, '\x01') +  // 9: fixed64
                              std::string(
                                  "\x4a\x03"
                                  "abc",
                                  5) +                              // 9: bytes
                              std::string("\x4b\x08\x01\x4c", 4) +  // 9: group {1: 1}
                              std::string("\x4d") +
                              std::string(4, '\x02');  // 9: fixed32
  expect_same(unknown + doc);
  expect_same(doc + unknown);
  EXPECT_EQ(*by_wire(unknown + doc), *by_protobuf(doc));
  // A known field with another wire type is an unknown field too (name = 1 as a varint).
  expect_same(std::string("\x08\x05", 2) + doc);
  // A value's unknown field inside a map entry.
  v1::Document d;
  d.set_name("projects/p/databases/d/documents/c/x");
  (*d.mutable_fields())["k"].set_integer_value(3);
  std::string bytes = d.SerializeAsString();
  expect_same(bytes);
}

TEST(WireDocument, RefusesWhatProtobufRefuses) {
  v1::Document d;
  d.set_name("projects/p/databases/d/documents/c/x");
  (*d.mutable_fields())["bad"].set_string_value("\xff\xfe");
  expect_same(d.SerializeAsString());
  EXPECT_FALSE(by_wire(d.SerializeAsString()));
  v1::Document k;
  (*k.mutable_fields())["\xc3"].set_integer_value(1);  // a key that is not UTF-8
  EXPECT_FALSE(by_wire(k.SerializeAsString()));
  expect_same(k.SerializeAsString());
  // Malformed: a stray end-group, wire type 7, an overlong varint, a length past the end.
  for (const std::string& bad :
       {std::string("\x0c"), std::string("\x0f"), std::string("\x18") + std::string(11, '\xff'),
        std::string("\x0a\x05"
                    "ab",
                    4)}) {
    expect_same(bad);
    EXPECT_FALSE(by_wire(bad));
  }
}

TEST(WireDocument, DeepNestingIsBoundedAsInProtobuf) {
  auto nested = [](int levels) {
    v1::Value v;
    v.set_integer_value(1);
    for (int i = 0; i < levels; ++i) {
      v1::Value outer;
      *outer.mutable_array_value()->add_values() = v;
      v = outer;
    }
    v1::Document d;
    d.set_name("projects/p/databases/d/documents/c/x");
    (*d.mutable_fields())["deep"] = v;
    return d.SerializeAsString();
  };
  expect_same(nested(20));
  EXPECT_TRUE(by_wire(nested(20)));
  expect_same(nested(200));
  EXPECT_FALSE(by_wire(nested(200)));
}

TEST(WireDocument, RunQueryResponseKeepsTheDocument) {
  std::mt19937 rng(11);
  v1::RunQueryResponse r;
  *r.mutable_document() = proto_document(rng);
  r.mutable_read_time()->set_seconds(5);
  r.set_skipped_results(2);
  r.set_transaction("tx");
  WireRunQueryResponse out;
  ASSERT_TRUE(parse_run_query_response(r.SerializeAsString(), out));
  ASSERT_TRUE(out.document);
  EXPECT_EQ(*out.document, document_from_proto(r.document()));
  // A progress-only message (read_time alone) has no document, even in a reused buffer.
  v1::RunQueryResponse progress;
  progress.mutable_read_time()->set_seconds(6);
  ASSERT_TRUE(parse_run_query_response(progress.SerializeAsString(), out));
  EXPECT_FALSE(out.document);
  // An empty document is still a document.
  v1::RunQueryResponse empty;
  empty.mutable_document();
  ASSERT_TRUE(parse_run_query_response(empty.SerializeAsString(), out));
  EXPECT_TRUE(out.document);
}

// BatchGetDocuments replies (auto-batched gets): found or missing, as protobuf's oneof reads them
// (the last one wins), reused buffers included.
TEST(WireDocument, BatchGetResponseIsFoundOrMissing) {
  std::mt19937 rng(12);
  v1::BatchGetDocumentsResponse found;
  *found.mutable_found() = proto_document(rng);
  found.mutable_read_time()->set_seconds(5);
  found.set_transaction("tx");
  WireBatchGetResponse out;
  ASSERT_TRUE(parse_batch_get_response(found.SerializeAsString(), out));
  ASSERT_TRUE(out.found);
  EXPECT_FALSE(out.missing);
  EXPECT_EQ(*out.found, document_from_proto(found.found()));

  v1::BatchGetDocumentsResponse missing;
  missing.set_missing("projects/p/databases/(default)/documents/c/gone");
  ASSERT_TRUE(parse_batch_get_response(missing.SerializeAsString(), out));
  EXPECT_FALSE(out.found);
  ASSERT_TRUE(out.missing);
  EXPECT_EQ(*out.missing, missing.missing());

  // Both members on the wire: the last one read wins, as in protobuf.
  const std::string both = found.SerializeAsString() + missing.SerializeAsString();
  v1::BatchGetDocumentsResponse by_protobuf;
  ASSERT_TRUE(by_protobuf.ParseFromString(both));
  ASSERT_TRUE(parse_batch_get_response(both, out));
  EXPECT_EQ(out.missing.has_value(), by_protobuf.has_missing());
  EXPECT_EQ(out.found.has_value(), by_protobuf.has_found());
  const std::string back = missing.SerializeAsString() + found.SerializeAsString();
  ASSERT_TRUE(by_protobuf.ParseFromString(back));
  ASSERT_TRUE(parse_batch_get_response(back, out));
  EXPECT_EQ(out.found.has_value(), by_protobuf.has_found());
  ASSERT_TRUE(out.found);
  EXPECT_EQ(*out.found, document_from_proto(by_protobuf.found()));

  // Neither (a message with only read_time), and a missing name that is not UTF-8.
  v1::BatchGetDocumentsResponse neither;
  neither.mutable_read_time()->set_seconds(7);
  ASSERT_TRUE(parse_batch_get_response(neither.SerializeAsString(), out));
  EXPECT_FALSE(out.found);
  EXPECT_FALSE(out.missing);
  EXPECT_FALSE(parse_batch_get_response(std::string("\x12\x01\xff", 3), out));
}

// gRPC may hand a reply over in several slices: it is flattened, and the buffer emptied.
TEST(WireDocument, DeserializesAReplyInSeveralSlices) {
  std::mt19937 rng(13);
  const v1::Document d = proto_document(rng);
  const std::string bytes = d.SerializeAsString();
  const std::size_t half = bytes.size() / 2;
  grpc::Slice parts[] = {grpc::Slice(bytes.substr(0, half)), grpc::Slice(bytes.substr(half))};
  grpc::ByteBuffer buffer(parts, 2);
  WireDocument out;
  ASSERT_TRUE((grpc::SerializationTraits<WireDocument>::Deserialize(&buffer, &out).ok()));
  EXPECT_EQ(out.document, document_from_proto(d));
  EXPECT_FALSE(buffer.Valid());

  grpc::Slice bad("\x0f", 1);
  grpc::ByteBuffer refused(&bad, 1);
  const auto s = grpc::SerializationTraits<WireDocument>::Deserialize(&refused, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace connpool::firestore::detail
