// Queries: every operator, composites, ordering, limits, cursors, projections, collection
// groups, streaming and aggregations.
#include "fixture.hpp"

namespace connpool::firestore::test {
namespace {

class QueriesTest : public FirestoreTest {
 protected:
  void SetUp() override {
    FirestoreTest::SetUp();
    if (HasFatalFailure()) return;
    // 10 people: n = 0..9, city alternates, tags vary, some have a null or NaN score.
    std::vector<Write> seed;
    const char* cities[] = {"Paris", "Oslo"};
    for (int i = 0; i < 10; ++i) {
      Map f{{"n", i},
            {"city", cities[i % 2]},
            {"tags", Array{"t" + std::to_string(i % 3), "all"}},
            {"score", i == 3   ? Value(Null{})
                      : i == 4 ? Value(std::nan(""))
                               : Value(i * 1.5)}};
      seed.push_back(Write::set("people/p" + std::to_string(i), std::move(f)));
    }
    seed.push_back(Write::set("people/p0/orders/o1", Map{{"amount", 5}}));
    seed.push_back(Write::set("people/p1/orders/o2", Map{{"amount", 7}}));
    seed.push_back(Write::set("shops/s1/orders/o3", Map{{"amount", 11}}));
    ASSERT_OK(db().commit(std::move(seed)));
  }

  std::vector<std::int64_t> ns(const Query& q) {
    auto r = db().run_query(q);
    EXPECT_TRUE(r) << r.error().to_string();
    std::vector<std::int64_t> out;
    if (!r) return out;
    for (const auto& d : *r) {
      const Value* v = d.get("n");
      out.push_back(v && v->get_if<std::int64_t>() ? v->as<std::int64_t>() : -1);
    }
    return out;
  }
  using V = std::vector<std::int64_t>;
};

TEST_F(QueriesTest, ComparisonOperators) {
  EXPECT_EQ(ns(Query("people").where("n", "==", 3)), (V{3}));
  EXPECT_EQ(ns(Query("people").where("n", "<", 3).order_by("n")), (V{0, 1, 2}));
  EXPECT_EQ(ns(Query("people").where("n", "<=", 2).order_by("n")), (V{0, 1, 2}));
  EXPECT_EQ(ns(Query("people").where("n", ">", 7).order_by("n")), (V{8, 9}));
  EXPECT_EQ(ns(Query("people").where("n", ">=", 8).order_by("n")), (V{8, 9}));
  EXPECT_EQ(ns(Query("people").where("n", "!=", 0).order_by("n")), (V{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(QueriesTest, ArrayAndSetOperators) {
  EXPECT_EQ(ns(Query("people").where("tags", "array-contains", "t1").order_by("n")), (V{1, 4, 7}));
  EXPECT_EQ(
      ns(Query("people").where("tags", "array-contains-any", Array{"t1", "t2"}).order_by("n")),
      (V{1, 2, 4, 5, 7, 8}));
  EXPECT_EQ(ns(Query("people").where("n", "in", Array{2, 4, 42}).order_by("n")), (V{2, 4}));
  EXPECT_EQ(ns(Query("people").where("n", "not-in", Array{0, 1, 2, 3, 4, 5, 6}).order_by("n")),
            (V{7, 8, 9}));
}

TEST_F(QueriesTest, NullAndNanBecomeUnaryFilters) {
  EXPECT_EQ(ns(Query("people").where("score", "==", Null{})), (V{3}));
  EXPECT_EQ(ns(Query("people").where("score", "==", std::nan(""))), (V{4}));
  EXPECT_EQ(ns(Query("people").where("score", "!=", Null{}).order_by("score")).size(), 9u);
}

TEST_F(QueriesTest, CompositeAndOr) {
  auto q = Query("people").where(
      Filter::any_of({Filter::where("n", Op::less_than, 2),
                      Filter::all_of({Filter::where("city", Op::equal, "Oslo"),
                                      Filter::where("n", Op::greater_than, 6)})}));
  auto got = ns(q);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{0, 1, 7, 9}));
  EXPECT_EQ(ns(Query("people").where("city", "==", "Paris").where("n", ">", 4).order_by("n")),
            (V{6, 8}));
}

TEST_F(QueriesTest, OrderLimitOffsetAndLimitToLast) {
  EXPECT_EQ(ns(Query("people").order_by("n", Direction::descending).limit(3)), (V{9, 8, 7}));
  EXPECT_EQ(ns(Query("people").order_by("n").offset(7)), (V{7, 8, 9}));
  EXPECT_EQ(ns(Query("people").order_by("n").limit_to_last(3)), (V{7, 8, 9}));
  EXPECT_EQ(ns(Query("people").order_by("n").end_before(std::vector<Value>{5}).limit_to_last(2)),
            (V{3, 4}));
  auto orig = db().query_documents("people", {Filter::where("city", Op::equal, "Oslo")},
                                   {{"n", Direction::descending}}, 2);
  ASSERT_OK(orig);
  ASSERT_EQ(orig->size(), 2u);
  EXPECT_EQ(orig->at(0).id, "p9");
  EXPECT_EQ(orig->at(1).id, "p7");
}

TEST_F(QueriesTest, Cursors) {
  EXPECT_EQ(ns(Query("people").order_by("n").start_at(std::vector<Value>{7})), (V{7, 8, 9}));
  EXPECT_EQ(ns(Query("people").order_by("n").start_after(std::vector<Value>{7})), (V{8, 9}));
  EXPECT_EQ(ns(Query("people").order_by("n").end_at(std::vector<Value>{1})), (V{0, 1}));
  EXPECT_EQ(ns(Query("people").order_by("n").end_before(std::vector<Value>{1})), (V{0}));
  // A trailing value is the document name (an id here).
  EXPECT_EQ(
      ns(Query("people").order_by("city").start_after(std::vector<Value>{"Oslo", "p7"}).limit(2)),
      (V{9, 0}));
}

TEST_F(QueriesTest, SelectAndCollectionGroup) {
  auto r = db().run_query(Query("people").where("n", "==", 1).select({"city"}));
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at(0).fields, (Map{{"city", "Oslo"}}));
  auto all = db().run_query(Query::collection_group("orders").order_by("amount"));
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->at(2).path(), "shops/s1/orders/o3");
  auto under = db().run_query(Query::collection_group("orders", "people/p1"));
  ASSERT_OK(under);
  ASSERT_EQ(under->size(), 1u);
  EXPECT_EQ(under->at(0).id, "o2");
  auto nested = db().run_query(Query("people/p0/orders"));
  ASSERT_OK(nested);
  ASSERT_EQ(nested->size(), 1u);
}

TEST_F(QueriesTest, StreamingResults) {
  auto got = run([](Client c) -> boost::asio::awaitable<Result<std::vector<std::string>>> {
    auto s = co_await c.stream_query(Query("people").order_by("n").limit(4));
    if (!s) co_return std::move(s).error();
    std::vector<std::string> ids;
    for (;;) {
      auto d = co_await s->next();
      if (!d) co_return std::move(d).error();
      if (!d->has_value()) break;
      ids.push_back((*d)->id);
    }
    // Abandoning a second stream half-way cancels it and frees its lease.
    auto s2 = co_await c.stream_query(Query("people"));
    if (!s2) co_return std::move(s2).error();
    auto first = co_await s2->next();
    if (!first) co_return std::move(first).error();
    co_return ids;
  }(client()));
  ASSERT_OK(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
  EXPECT_EQ(client().pool().stats().leases, 0u);
}

TEST_F(QueriesTest, Aggregations) {
  auto c = db().count(Query("people").where("city", "==", "Paris"));
  ASSERT_OK(c);
  EXPECT_EQ(*c, 5);
  auto a = db().aggregate(
      Query("people").where("n", "<", 4),
      {Aggregation::count("c"), Aggregation::sum("n", "s"), Aggregation::avg("n", "avg")});
  ASSERT_OK(a);
  EXPECT_EQ(a->at("c"), Value(4));
  EXPECT_EQ(a->at("s"), Value(6));
  EXPECT_EQ(a->at("avg"), Value(1.5));
  auto none = db().aggregate(Query("people").where("n", ">", 100), {Aggregation::avg("n", "avg")});
  ASSERT_OK(none);
  EXPECT_TRUE(none->at("avg").is_null());
}

TEST_F(QueriesTest, ServerRejectionsMapToCodes) {
  // Firestore refuses more than one not-in / != style disjunction mix; whatever it says, the
  // code is invalid_argument with the server's words.
  auto r = db().run_query(
      Query("people").where("n", "not-in", Array{1}).where("city", "not-in", Array{"x"}));
  if (!r) {
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
    EXPECT_NE(r.error().message().find("firestore RunQuery"), std::string::npos);
  }
}

}  // namespace
}  // namespace connpool::firestore::test
