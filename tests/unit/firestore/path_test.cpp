// Paths and ids are validated on the client with errors that name the bad part.
#include "connpool/firestore/path.hpp"

#include <gtest/gtest.h>

namespace connpool::firestore {
namespace {

void expect_invalid(const Result<std::vector<std::string>>& r, std::string_view needle) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(Path, CollectionAndDocumentPaths) {
  auto c = parse_collection_path("users/alice/orders");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), 3u);
  EXPECT_TRUE(parse_document_path("users/alice"));
  expect_invalid(parse_collection_path("users/alice"), "\"users/alice\"");
  expect_invalid(parse_document_path("users"), "odd number");
  expect_invalid(parse_collection_path(""), "empty");
  expect_invalid(parse_collection_path("users//x"), "\"users//x\"");
  expect_invalid(parse_collection_path("/users"), "empty segment");
  expect_invalid(parse_document_path("users/.."), "'..'");
  expect_invalid(parse_document_path("__x__/a"), "reserves");
  expect_invalid(parse_document_path(std::string("users/\xff")), "UTF-8");
}

TEST(Path, DocumentPathJoinsAndNamesTheBadId) {
  auto p = document_path("users", "alice");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "users/alice");
  auto bad = document_path("users", "a/b");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("\"a/b\""), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("users"), std::string::npos);
  auto bad_coll = document_path("users/x", "y");
  ASSERT_FALSE(bad_coll);
  EXPECT_NE(bad_coll.error().message().find("\"users/x\""), std::string::npos);
  EXPECT_FALSE(document_path("users", ""));
  EXPECT_FALSE(document_path("users", std::string(1501, 'a')));
  EXPECT_TRUE(document_path("users", std::string(1500, 'a')));
}

TEST(Path, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  // ASCII is checked eight bytes at a time: a bad or multi-byte sequence at every position of
  // a longer string, across those words and in the tail.
  for (std::size_t at = 0; at < 20; ++at) {
    std::string s(20, 'a');
    s[at] = '\xFF';
    EXPECT_FALSE(is_valid_utf8(s)) << at;
    s.replace(at, 1, "\xC3\xA9");
    EXPECT_TRUE(is_valid_utf8(s)) << at;
    s.erase(at + 1, 1);  // the sequence truncated by the next ASCII byte
    EXPECT_FALSE(is_valid_utf8(s)) << at;
  }
}

TEST(FieldPath, ParsesDottedAndQuotedForms) {
  auto p = FieldPath::parse("a.b.c");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->segments(), (std::vector<std::string>{"a", "b", "c"}));
  p = FieldPath::parse("`x.y`.z");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->segments(), (std::vector<std::string>{"x.y", "z"}));
  p = FieldPath::parse("`a\\`b`");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->segments(), (std::vector<std::string>{"a`b"}));
  p = FieldPath::parse("with space.ü");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "`with space`.`ü`");
}

TEST(FieldPath, CanonicalFormQuotesWhatNeedsIt) {
  EXPECT_EQ(FieldPath({"a", "b_1"}).to_string(), "a.b_1");
  EXPECT_EQ(FieldPath({"1a"}).to_string(), "`1a`");
  EXPECT_EQ(FieldPath({"x.y", "a`b\\c"}).to_string(), "`x.y`.`a\\`b\\\\c`");
  for (const auto& segs : {std::vector<std::string>{"x.y", "a`b\\c"},
                           std::vector<std::string>{"plain", "sp ace", "é"}}) {
    auto back = FieldPath::parse(FieldPath(segs).to_string());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->segments(), segs);
  }
}

TEST(FieldPath, RejectsMalformedNamingTheText) {
  for (const char* bad : {"", "a..b", ".a", "a.", "`unterminated", "``", "a`b", "a*b", "a.b~"}) {
    auto r = FieldPath::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_NE(r.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message();
  }
}

TEST(FieldPath, Prefix) {
  EXPECT_TRUE(FieldPath({"a"}).is_prefix_of(FieldPath({"a", "b"})));
  EXPECT_TRUE(FieldPath({"a"}).is_prefix_of(FieldPath({"a"})));
  EXPECT_FALSE(FieldPath({"a", "b"}).is_prefix_of(FieldPath({"a"})));
  EXPECT_FALSE(FieldPath({"ab"}).is_prefix_of(FieldPath({"a", "b"})));
}

}  // namespace
}  // namespace connpool::firestore
