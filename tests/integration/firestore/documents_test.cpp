// Every single-document and batch operation against the emulator, with the error codes the
// server's answers map to.
#include "fixture.hpp"

#include <cstdlib>

namespace connpool::firestore::test {
namespace {

using DocumentsTest = FirestoreTest;

TEST_F(DocumentsTest, GetMissingIsNulloptNotAnError) {
  auto d = db().get_document("users", "nobody");
  ASSERT_OK(d);
  EXPECT_FALSE(d->has_value());
}

TEST_F(DocumentsTest, CreateThenGetThenCreateAgainFails) {
  Map fields{{"name", "Ada"}, {"age", 36}};
  auto w = db().create_document("users", "ada", fields);
  ASSERT_OK(w);
  EXPECT_GT(w->update_time.seconds, 0);
  auto d = db().get_document("users", "ada");
  ASSERT_OK(d);
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->id, "ada");
  EXPECT_EQ((*d)->path(), "users/ada");
  EXPECT_EQ((*d)->name,
            "projects/" + options_.project_id + "/databases/(default)/documents/users/ada");
  EXPECT_EQ((*d)->fields, fields);
  EXPECT_EQ((*d)->update_time, w->update_time);
  EXPECT_EQ((*d)->create_time, w->update_time);

  auto again = db().create_document("users", "ada", Map{{"name", "Other"}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), errc::already_exists) << again.error().to_string();
  EXPECT_NE(again.error().message().find("ALREADY_EXISTS"), std::string::npos);
}

TEST_F(DocumentsTest, SetOverwritesAndMerges) {
  ASSERT_OK(db().set_document("c", "d", Map{{"a", 1}, {"b", Map{{"x", 1}, {"y", 2}}}}));
  ASSERT_OK(db().set_document("c", "d", Map{{"z", 9}}));
  auto d = db().get_document("c", "d");
  ASSERT_OK(d);
  EXPECT_EQ((*d)->fields, (Map{{"z", 9}}));

  ASSERT_OK(db().set_document("c", "d", Map{{"a", 1}, {"b", Map{{"x", 1}, {"y", 2}}}}));
  ASSERT_OK(db().set_document("c", "d", Map{{"b", Map{{"y", 3}}}}, SetOptions::merge_all()));
  d = db().get_document("c", "d");
  EXPECT_EQ((*d)->fields, (Map{{"a", 1}, {"b", Map{{"x", 1}, {"y", 3}}}}));

  // Only the listed field is written; "a" in the data is ignored; "gone" is deleted.
  ASSERT_OK(db().set_document("c", "d", Map{{"a", 100}, {"b", Map{{"x", 7}}}},
                              SetOptions::merge_only({"b.x", "gone"})));
  d = db().get_document("c", "d");
  EXPECT_EQ((*d)->fields, (Map{{"a", 1}, {"b", Map{{"x", 7}, {"y", 3}}}}));
}

TEST_F(DocumentsTest, UpdateWithFieldPathsDeletesAndPreconditions) {
  auto created =
      db().create_document("c", "u", Map{{"a", 1}, {"m", Map{{"k", 1}, {"j", 2}}}, {"old", true}});
  ASSERT_OK(created);
  auto w = db().update_document("c", "u", Map{{"m.k", 5}, {"`odd.name`", "x"}},
                                Precondition::exists(), {"old"});
  ASSERT_OK(w);
  auto d = db().get_document("c", "u");
  ASSERT_OK(d);
  EXPECT_EQ((*d)->fields, (Map{{"a", 1}, {"m", Map{{"k", 5}, {"j", 2}}}, {"odd.name", "x"}}));

  // A missing document: not_found.
  auto missing = db().update_document("c", "nope", Map{{"a", 1}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), errc::not_found) << missing.error().to_string();

  // A stale update_time: failed_precondition; the current one works.
  auto stale =
      db().update_document("c", "u", Map{{"a", 2}}, Precondition::updated_at(created->update_time));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), errc::failed_precondition) << stale.error().to_string();
  ASSERT_OK(
      db().update_document("c", "u", Map{{"a", 3}}, Precondition::updated_at(w->update_time)));
  EXPECT_EQ(*db().get_document("c", "u")->value().get("a"), Value(3));

  // Overlapping paths are rejected before any RPC.
  auto overlap = db().update_document("c", "u", Map{{"m", 1}, {"m.k", 2}});
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().code(), errc::invalid_argument);
}

TEST_F(DocumentsTest, DeleteWithAndWithoutPrecondition) {
  ASSERT_OK(db().set_document("c", "x", Map{{"a", 1}}));
  ASSERT_OK(db().delete_document("c", "x"));
  EXPECT_FALSE(db().get_document("c", "x")->has_value());
  ASSERT_OK(db().delete_document("c", "x"));  // deleting a missing document is fine
  auto r = db().delete_document("c", "x", Precondition::exists());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::not_found) << r.error().to_string();
}

TEST_F(DocumentsTest, FieldTransforms) {
  ASSERT_OK(db().set_document(
      "c", "t", Map{{"n", 10}, {"f", 1.5}, {"hi", 5}, {"lo", 5}, {"arr", Array{1, 2, 2, 3}}}));
  std::vector<FieldTransform> t;
  t.push_back(FieldTransform::server_timestamp("at"));
  t.push_back(FieldTransform::increment("n", 5));
  t.push_back(FieldTransform::increment("f", 0.25));
  t.push_back(FieldTransform::maximum("hi", 9));
  t.push_back(FieldTransform::minimum("lo", 2));
  t.push_back(FieldTransform::array_union("arr", Array{3, 4}));
  t.push_back(FieldTransform::increment("fresh", 1));
  auto w = db().transform_document("c", "t", t);
  ASSERT_OK(w);
  ASSERT_EQ(w->transform_results.size(), t.size());
  EXPECT_EQ(w->transform_results[1], Value(15));
  auto d = db().get_document("c", "t");
  ASSERT_OK(d);
  const auto& f = (*d)->fields;
  ASSERT_TRUE(f.at("at").get_if<Timestamp>());
  // The server's REQUEST_TIME is the commit time; the emulator's update_time may differ from it
  // by a little, so only check it is the same moment give or take a minute.
  EXPECT_LT(std::abs(f.at("at").as<Timestamp>().seconds - (*d)->update_time.seconds), 60);
  EXPECT_EQ(f.at("n"), Value(15));
  EXPECT_EQ(f.at("f"), Value(1.75));
  EXPECT_EQ(f.at("hi"), Value(9));
  EXPECT_EQ(f.at("lo"), Value(2));
  EXPECT_EQ(f.at("arr"), Value(Array{1, 2, 2, 3, 4}));
  EXPECT_EQ(f.at("fresh"), Value(1));

  std::vector<FieldTransform> rm;
  rm.push_back(FieldTransform::array_remove("arr", Array{2, 4}));
  ASSERT_OK(db().transform_document("c", "t", rm));
  EXPECT_EQ(db().get_document("c", "t")->value().fields.at("arr"), Value(Array{1, 3}));

  // Transforms combined with an update, and a bad operand rejected before the RPC.
  ASSERT_OK(db().commit(
      {Write::update("c/t", Map{{"n", 0}}).with_transforms({FieldTransform::increment("n", 2)})}));
  EXPECT_EQ(db().get_document("c", "t")->value().fields.at("n"), Value(2));
  auto bad = db().transform_document("c", "t", {FieldTransform::increment("n", "one")});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
}

TEST_F(DocumentsTest, BatchGetKeepsRequestOrderAndReportsMissing) {
  ASSERT_OK(db().set_document("c", "a", Map{{"v", 1}}));
  ASSERT_OK(db().set_document("c", "b", Map{{"v", 2}}));
  auto r = db().batch_get({"c/b", "c/missing", "c/a", "c/b"});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0]->fields.at("v"), Value(2));
  EXPECT_FALSE((*r)[1].has_value());
  EXPECT_EQ((*r)[2]->fields.at("v"), Value(1));
  EXPECT_EQ((*r)[3]->id, "b");
  auto empty = db().batch_get({});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_F(DocumentsTest, BatchedWritesAreAllOrNothing) {
  ASSERT_OK(db().set_document("c", "exists", Map{{"v", 1}}));
  std::vector<Write> batch;
  batch.push_back(Write::set("c/new1", Map{{"v", 1}}));
  batch.push_back(Write::create("c/exists", Map{{"v", 2}}));  // fails: already exists
  batch.push_back(Write::set("c/new2", Map{{"v", 3}}));
  auto r = db().commit(batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::already_exists);
  EXPECT_FALSE(db().get_document("c", "new1")->has_value());
  EXPECT_FALSE(db().get_document("c", "new2")->has_value());

  std::vector<Write> big;
  for (int i = 0; i < 500; ++i)
    big.push_back(Write::set("bulk/d" + std::to_string(i), Map{{"i", i}}));
  auto ok500 = db().commit(big);
  ASSERT_OK(ok500);
  EXPECT_EQ(ok500->size(), 500u);
  EXPECT_EQ(*db().count(Query("bulk")), 500);
  big.push_back(Write::set("bulk/d500", Map{}));
  auto too_many = db().commit(big);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), errc::invalid_argument);
  EXPECT_NE(too_many.error().message().find("500"), std::string::npos);
}

TEST_F(DocumentsTest, ListDocumentsPagesAndCollectionIds) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_OK(db().set_document("list", "d" + std::to_string(i), Map{{"i", i}}));
  }
  ASSERT_OK(db().set_document("list/d0/sub", "x", Map{}));
  ASSERT_OK(db().set_document("other", "y", Map{}));
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    auto page = db().list_documents("list", 3, token);
    ASSERT_OK(page);
    ++pages;
    EXPECT_LE(page->documents.size(), 3u);
    for (const auto& d : page->documents) ids.push_back(d.id);
    token = page->next_page_token;
  } while (!token.empty() && pages < 10);
  EXPECT_GE(pages, 3);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4", "d5", "d6"}));

  auto roots = db().list_collection_ids();
  ASSERT_OK(roots);
  std::sort(roots->begin(), roots->end());
  EXPECT_EQ(*roots, (std::vector<std::string>{"list", "other"}));
  auto subs = db().list_collection_ids("list/d0");
  ASSERT_OK(subs);
  EXPECT_EQ(*subs, (std::vector<std::string>{"sub"}));
}

TEST_F(DocumentsTest, CoroutineFormAndNestedCollections) {
  auto r = run([](Client c) -> boost::asio::awaitable<Result<std::optional<Document>>> {
    Map fields{{"total", 42}};  // GCC 12: no braced list inside co_await
    auto w = co_await c.set_document("users/alice/orders", "o1", std::move(fields));
    if (!w) co_return std::move(w).error();
    co_return co_await c.get_document_at("users/alice/orders/o1");
  }(client()));
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->fields.at("total"), Value(42));
}

TEST(DocumentsNoServer, BadPathsFailBeforeAnyRpc) {
  // Nothing listens on port 1: any RPC would fail with unavailable, so invalid_argument proves
  // the check ran first.
  IoThreads io(1);
  FirestoreOptions o;
  o.project_id = "p";
  o.emulator_host = "127.0.0.1:1";
  auto cfg = default_pool_config();
  cfg.min_size = 0;
  auto c = Client::create(io.io().get_executor(), o, cfg);
  ASSERT_OK(c);
  auto db = c->blocking();
  struct Case {
    Result<void> r;
    const char* needle;
  };
  auto as_void = [](auto&& r) -> Result<void> {
    if (r) return ok();
    return r.error();
  };
  std::vector<Case> cases;
  cases.push_back({as_void(db.get_document("users", "a/b")), "\"a/b\""});
  cases.push_back({as_void(db.get_document("users/x", "y")), "\"users/x\""});
  cases.push_back({as_void(db.get_document("", "y")), "empty"});
  cases.push_back({as_void(db.set_document("c", "__id__", Map{})), "\"__id__\""});
  cases.push_back({as_void(db.set_document("c", "d", Map{{"s", std::string("\xff")}})), "UTF-8"});
  cases.push_back({as_void(db.update_document("c", "d", Map{{"a..b", 1}})), "\"a..b\""});
  cases.push_back({as_void(db.get_document_at("c")), "odd number"});
  cases.push_back({as_void(db.batch_get({"c/ok", "c"})), "\"c\""});
  cases.push_back({as_void(db.list_documents("a/b")), "\"a/b\""});
  cases.push_back({as_void(db.run_query(Query("users").where("age", "≈", 1))), "≈"});
  cases.push_back({as_void(db.run_query(Query("users").where("age", "in", Array{}))), "non-empty"});
  cases.push_back({as_void(db.run_query(Query("users").where("a.`b", "==", 1))), "a.`b"});
  cases.push_back({as_void(db.run_query(Query("users/alice"))), "\"users/alice\""});
  for (const auto& [r, needle] : cases) {
    ASSERT_FALSE(r) << needle;
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().to_string();
  }
  EXPECT_EQ(c->pool().stats().created, 0u);
  c->pool().close_blocking(std::chrono::seconds(1));
}

}  // namespace
}  // namespace connpool::firestore::test
