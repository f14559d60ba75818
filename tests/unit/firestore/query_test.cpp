// Query and filter validation: bad input fails before any RPC, naming the culprit.
#include "connpool/firestore/query.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace connpool::firestore {
namespace {

void expect_invalid(const Result<void>& r, std::string_view needle) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(Op, ParsesEverySpelling) {
  const std::pair<const char*, Op> cases[] = {{"<", Op::less_than},
                                              {"<=", Op::less_than_or_equal},
                                              {">", Op::greater_than},
                                              {">=", Op::greater_than_or_equal},
                                              {"==", Op::equal},
                                              {"!=", Op::not_equal},
                                              {"array-contains", Op::array_contains},
                                              {"array-contains-any", Op::array_contains_any},
                                              {"in", Op::in},
                                              {"not-in", Op::not_in}};
  for (const auto& [text, op] : cases) {
    auto r = parse_op(text);
    ASSERT_TRUE(r) << text;
    EXPECT_EQ(*r, op);
    EXPECT_EQ(*parse_op(to_string(op)), op);
  }
  EXPECT_FALSE(parse_op("~="));
}

TEST(Query, ValidQueriesPass) {
  auto q =
      Query("users")
          .where("age", ">=", 18)
          .where(Filter::any_of({Filter::where("city", Op::equal, "Paris"),
                                 Filter::where("tags", Op::array_contains_any, Array{"a", "b"})}))
          .order_by("age", Direction::descending)
          .start_after(std::vector<Value>{30})
          .limit(10)
          .select({"name", "address.city"});
  EXPECT_TRUE(q.validate());
  EXPECT_TRUE(Query::collection_group("orders").where("n", Op::in, Array{1, 2}).validate());
  EXPECT_TRUE(Query("users/alice/orders").limit_to_last(3).order_by("n").validate());
}

TEST(Query, BadPathsAndFieldsAreRejected) {
  expect_invalid(Query("users/alice").validate(), "\"users/alice\"");
  expect_invalid(Query("").validate(), "empty");
  expect_invalid(Query::collection_group("a/b").validate(), "\"a/b\"");
  expect_invalid(Query("users").where("a..b", "==", 1).validate(), "\"a..b\"");
  expect_invalid(Query("users").order_by("").validate(), "order_by");
  expect_invalid(Query("users").select({"`x"}).validate(), "select");
}

TEST(Query, BadFiltersAreRejected) {
  expect_invalid(Query("u").where("a", "~=", 1).validate(), "~=");
  expect_invalid(Query("u").where("a", "in", 1).validate(), "needs an array");
  expect_invalid(Query("u").where("a", "in", Array{}).validate(), "non-empty");
  Array many(31, Value(1));
  expect_invalid(Query("u").where("a", "in", many).validate(), "at most 30");
  Array eleven(11, Value(1));
  expect_invalid(Query("u").where("a", "not-in", eleven).validate(), "at most 10");
  expect_invalid(Query("u").where("a", "<", Null{}).validate(), "null");
  expect_invalid(Query("u").where("a", ">", std::numeric_limits<double>::quiet_NaN()).validate(),
                 "NaN");
  expect_invalid(Query("u").where(Filter::all_of({})).validate(), "empty AND");
  expect_invalid(Query("u").where(Filter::any_of({Filter::where("x", "bogus", 1)})).validate(),
                 "bogus");
}

TEST(Query, LimitsCursorsAndOrdering) {
  expect_invalid(Query("u").limit(-1).validate(), "limit");
  expect_invalid(Query("u").offset(-1).validate(), "offset");
  expect_invalid(Query("u").limit_to_last(2).validate(), "order_by");
  expect_invalid(Query("u").order_by("a").start_at(std::vector<Value>{1, 2, 3}).validate(),
                 "cursor");
  expect_invalid(Query("u").start_at(std::vector<Value>{}).validate(), "cursor");
}

}  // namespace
}  // namespace connpool::firestore
