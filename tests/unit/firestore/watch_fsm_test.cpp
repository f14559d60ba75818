// WatchFsm fed scripted ListenResponse messages: the consistent-snapshot rule, change indexes,
// ordering, resume tokens, and the cases the emulator cannot be made to send (RESET, REMOVE
// with a cause, existence-filter mismatches, NO_CHANGE before CURRENT).
#include "firestore/listen/watch_fsm.hpp"

#include "firestore/listen/doc_order.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connpool::firestore::detail {
namespace {

using Kind = WatchFsm::Step::Kind;
constexpr std::int32_t kId = WatchFsm::kTargetId;
const std::string kRoot = "projects/p/databases/(default)/documents/";

v1::ListenResponse target(v1::TargetChange::TargetChangeType type, std::vector<std::int32_t> ids,
                          std::string token = {}) {
  v1::ListenResponse r;
  auto* tc = r.mutable_target_change();
  tc->set_target_change_type(type);
  for (auto id : ids) tc->add_target_ids(id);
  tc->set_resume_token(token);
  return r;
}

v1::ListenResponse global(std::int64_t read_seconds, std::string token) {
  auto r = target(v1::TargetChange::NO_CHANGE, {}, std::move(token));
  r.mutable_target_change()->mutable_read_time()->set_seconds(read_seconds);
  return r;
}

v1::ListenResponse change(const std::string& id, std::int64_t updated, std::int64_t n = 0) {
  v1::ListenResponse r;
  auto* dc = r.mutable_document_change();
  dc->add_target_ids(kId);
  auto* d = dc->mutable_document();
  d->set_name(kRoot + "c/" + id);
  d->mutable_update_time()->set_seconds(updated);
  d->mutable_create_time()->set_seconds(1);
  (*d->mutable_fields())["n"].set_integer_value(n);
  return r;
}

v1::ListenResponse deleted(const std::string& id) {
  v1::ListenResponse r;
  r.mutable_document_delete()->set_document(kRoot + "c/" + id);
  return r;
}

v1::ListenResponse removed(const std::string& id) {
  v1::ListenResponse r;
  r.mutable_document_remove()->set_document(kRoot + "c/" + id);
  r.mutable_document_remove()->add_removed_target_ids(kId);
  return r;
}

v1::ListenResponse filter(std::int32_t count) {
  v1::ListenResponse r;
  r.mutable_filter()->set_target_id(kId);
  r.mutable_filter()->set_count(count);
  return r;
}

std::vector<std::string> ids(const std::vector<Document>& docs) {
  std::vector<std::string> out;
  for (const auto& d : docs) out.push_back(d.id);
  return out;
}

/// Feeds messages; returns the steps that were not Kind::none.
std::vector<WatchFsm::Step> feed(WatchFsm& fsm, const std::vector<v1::ListenResponse>& msgs) {
  std::vector<WatchFsm::Step> out;
  for (const auto& m : msgs) {
    auto s = fsm.on_response(m);
    if (s.kind != Kind::none) out.push_back(std::move(s));
  }
  return out;
}

/// ADD, the given documents, CURRENT, global NO_CHANGE: the initial snapshot.
std::vector<WatchFsm::Step> initial(WatchFsm& fsm, const std::vector<std::string>& docs) {
  std::vector<v1::ListenResponse> msgs{target(v1::TargetChange::ADD, {kId})};
  for (const auto& d : docs) msgs.push_back(change(d, 10));
  msgs.push_back(target(v1::TargetChange::CURRENT, {kId}, "t1"));
  msgs.push_back(global(100, "t1"));
  return feed(fsm, msgs);
}

TEST(WatchFsm, FirstSnapshotOnlyAfterCurrentAndGlobalNoChange) {
  WatchFsm fsm;
  auto steps = feed(fsm, {target(v1::TargetChange::ADD, {kId}), change("b", 10), change("a", 10),
                          global(50, "early")});  // NO_CHANGE before CURRENT: no snapshot
  EXPECT_TRUE(steps.empty());
  EXPECT_TRUE(fsm.resume_token().empty());
  // A NO_CHANGE naming our target (not global) is no consistent point either.
  steps = feed(fsm, {target(v1::TargetChange::CURRENT, {kId}, "t1"),
                     target(v1::TargetChange::NO_CHANGE, {kId}, "t1")});
  EXPECT_TRUE(steps.empty());
  steps = feed(fsm, {global(100, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  ASSERT_EQ(steps[0].kind, Kind::snapshot);
  const auto& snap = *steps[0].snapshot;
  EXPECT_EQ(ids(snap.documents), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(snap.changes.size(), 2U);
  EXPECT_EQ(snap.changes[0].type, DocumentChange::Type::added);
  EXPECT_EQ(snap.changes[0].document.id, "a");
  EXPECT_EQ(snap.changes[0].old_index, -1);
  EXPECT_EQ(snap.changes[0].new_index, 0);
  EXPECT_EQ(snap.changes[1].new_index, 1);
  EXPECT_EQ(snap.read_time.seconds, 100);
  EXPECT_EQ(fsm.resume_token(), "t2");
}

TEST(WatchFsm, EmptyTargetStillGetsAFirstSnapshotButLaterEmptyOnesAreSkipped) {
  WatchFsm fsm;
  auto steps = initial(fsm, {});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_TRUE(steps[0].snapshot->documents.empty());
  EXPECT_TRUE(feed(fsm, {global(101, "t3")}).empty());
  EXPECT_EQ(fsm.resume_token(), "t3");  // the token advances even without a snapshot
}

TEST(WatchFsm, AddedModifiedRemovedWithIndexes) {
  WatchFsm fsm;
  initial(fsm, {"a", "b", "c"});
  auto steps = feed(
      fsm, {change("b", 20, 1), deleted("a"), change("d", 20), change("c", 10), global(200, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  const auto& snap = *steps[0].snapshot;
  EXPECT_EQ(ids(snap.documents), (std::vector<std::string>{"b", "c", "d"}));
  // c came again with the same update_time: not a change.
  ASSERT_EQ(snap.changes.size(), 3U);
  EXPECT_EQ(snap.changes[0].type, DocumentChange::Type::removed);
  EXPECT_EQ(snap.changes[0].document.id, "a");
  EXPECT_EQ(snap.changes[0].old_index, 0);
  EXPECT_EQ(snap.changes[0].new_index, -1);
  EXPECT_EQ(snap.changes[1].type, DocumentChange::Type::added);
  EXPECT_EQ(snap.changes[1].document.id, "d");
  EXPECT_EQ(snap.changes[1].new_index, 2);
  EXPECT_EQ(snap.changes[2].type, DocumentChange::Type::modified);
  EXPECT_EQ(snap.changes[2].document.id, "b");
  EXPECT_EQ(snap.changes[2].old_index, 0);
  EXPECT_EQ(snap.changes[2].new_index, 0);
  EXPECT_EQ(snap.changes[2].document.get("n")->as<std::int64_t>(), 1);
}

TEST(WatchFsm, DocumentRemoveAndChangeWithRemovedTargetLeaveTheView) {
  WatchFsm fsm;
  initial(fsm, {"a", "b"});
  v1::ListenResponse moved = change("b", 30);
  moved.mutable_document_change()->clear_target_ids();
  moved.mutable_document_change()->add_removed_target_ids(kId);
  auto steps = feed(fsm, {removed("a"), moved, global(300, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_TRUE(steps[0].snapshot->documents.empty());
  EXPECT_EQ(steps[0].snapshot->changes.size(), 2U);
}

TEST(WatchFsm, QueryOrderSortsSnapshotsAndIndexes) {
  WatchFsm fsm(DocumentOrder({{"n", Direction::descending}}));
  feed(fsm, {target(v1::TargetChange::ADD, {kId}), change("a", 10, 1), change("b", 10, 3),
             change("c", 10, 2), target(v1::TargetChange::CURRENT, {kId}), global(1, "t")});
  EXPECT_EQ(ids(fsm.documents()), (std::vector<std::string>{"b", "c", "a"}));
  auto steps = feed(fsm, {change("a", 20, 5), global(2, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  const auto& ch = steps[0].snapshot->changes.at(0);
  EXPECT_EQ(ch.type, DocumentChange::Type::modified);
  EXPECT_EQ(ch.old_index, 2);
  EXPECT_EQ(ch.new_index, 0);
  EXPECT_EQ(ids(steps[0].snapshot->documents), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(WatchFsm, ChangesAfterTheLastSnapshotAreReplayedAfterAReconnectNotLostOrRepeated) {
  WatchFsm fsm;
  initial(fsm, {"a"});
  // b arrives, then the stream breaks before the consistent point: b is not delivered and the
  // token stays at the last snapshot's.
  EXPECT_TRUE(
      feed(fsm, {change("b", 20), target(v1::TargetChange::CURRENT, {kId}, "t-mid")}).empty());
  fsm.on_stream_closed();
  EXPECT_EQ(fsm.resume_token(), "t1");
  EXPECT_FALSE(fsm.current());
  // The resumed stream replays b (and a, unchanged): exactly one change.
  auto steps = feed(fsm, {target(v1::TargetChange::ADD, {kId}), change("a", 10), change("b", 20),
                          target(v1::TargetChange::CURRENT, {kId}, "t2"), global(200, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.id, "b");
  EXPECT_EQ(fsm.resume_token(), "t2");
}

TEST(WatchFsm, AStaleVersionAfterAResumeIsNotReportedAsAChange) {
  WatchFsm fsm;
  initial(fsm, {"a"});
  auto newer = feed(
      fsm, {change("a", 30, 3), target(v1::TargetChange::CURRENT, {kId}, "t2"), global(300, "t2")});
  ASSERT_EQ(newer.size(), 1U);
  fsm.on_stream_closed();
  // The resumed stream sends "a" at an older version first, then a newer one.
  auto steps = feed(
      fsm, {target(v1::TargetChange::ADD, {kId}), change("a", 20, 2),
            target(v1::TargetChange::CURRENT, {kId}, "t3"), global(400, "t3"), change("a", 40, 4),
            target(v1::TargetChange::NO_CHANGE, {kId}, "t4"), global(500, "t4")});
  ASSERT_EQ(steps.size(), 1U) << "the stale version must not make a snapshot";
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.get("n")->as<std::int64_t>(), 4);
}

TEST(WatchFsm, ResetPresumesEveryDocumentRemovedUntilResent) {
  WatchFsm fsm;
  initial(fsm, {"a", "b"});
  auto steps = feed(fsm, {target(v1::TargetChange::RESET, {kId}), change("a", 10),
                          global(150, "x")});  // not CURRENT after the reset: no snapshot
  EXPECT_TRUE(steps.empty());
  EXPECT_TRUE(fsm.resume_token().empty());
  steps = feed(fsm, {target(v1::TargetChange::CURRENT, {kId}), global(200, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(ids(steps[0].snapshot->documents), (std::vector<std::string>{"a"}));
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);  // a unchanged; b gone
  EXPECT_EQ(steps[0].snapshot->changes[0].type, DocumentChange::Type::removed);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.id, "b");
}

// Seen from the emulator when a write lands while it sends a result set (issue 19): a second
// RESET + result set starts inside the first one, whose documents sent before it never come
// again. Following the RESET would report them removed (and then added twice): listen again.
TEST(WatchFsm, AResetInsideAnUnfinishedResultSetRelistensInsteadOfReportingRemovals) {
  WatchFsm fsm;
  initial(fsm, {"a", "b", "c"});
  auto steps = feed(fsm, {target(v1::TargetChange::RESET, {kId}), change("a", 20), change("b", 10),
                          target(v1::TargetChange::RESET, {kId}), change("c", 10)});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::relisten);
  fsm.on_stream_closed();
  // The new stream sends one consistent set: only the real change is reported.
  steps = feed(
      fsm, {target(v1::TargetChange::ADD, {kId}), change("a", 20), change("b", 10), change("c", 10),
            target(v1::TargetChange::CURRENT, {kId}, "t2"), global(200, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);
  EXPECT_EQ(steps[0].snapshot->changes[0].type, DocumentChange::Type::modified);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.id, "a");
  EXPECT_EQ(ids(steps[0].snapshot->documents), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(WatchFsm, ResetRightAfterAddOrAfterCurrentIsFollowed) {
  WatchFsm fsm;
  initial(fsm, {"a"});
  fsm.on_stream_closed();
  // A resume the server cannot honour: ADD, RESET, the whole set (no relisten).
  auto steps = feed(fsm, {target(v1::TargetChange::ADD, {kId}),
                          target(v1::TargetChange::RESET, {kId}), change("a", 10), change("b", 10),
                          target(v1::TargetChange::CURRENT, {kId}, "t2"), global(200, "t2")});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::snapshot);
  // A RESET after CURRENT (before the global snapshot) starts a new set: followed too.
  steps = feed(
      fsm, {change("c", 30), target(v1::TargetChange::CURRENT, {kId}, "t3"),
            target(v1::TargetChange::RESET, {kId}), change("a", 10), change("b", 10),
            change("c", 30), target(v1::TargetChange::CURRENT, {kId}, "t4"), global(300, "t4")});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::snapshot);
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.id, "c");
}

TEST(WatchFsm, ExistenceFilterMatchingCountIsNoEvent) {
  WatchFsm fsm;
  initial(fsm, {"a", "b"});
  EXPECT_TRUE(feed(fsm, {change("c", 20), deleted("a"), filter(2)}).empty());
}

TEST(WatchFsm, ExistenceFilterMismatchRelistensFromScratch) {
  WatchFsm fsm;
  initial(fsm, {"a", "b", "c"});
  auto steps = feed(fsm, {filter(2)});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::relisten);
  EXPECT_TRUE(fsm.resume_token().empty());  // listen again without a token
  fsm.on_stream_closed();
  // The new stream resends what exists (c was deleted unseen).
  steps = feed(fsm, {target(v1::TargetChange::ADD, {kId}), change("a", 10), change("b", 10),
                     target(v1::TargetChange::CURRENT, {kId}, "t9"), global(900, "t9")});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(ids(steps[0].snapshot->documents), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(steps[0].snapshot->changes.size(), 1U);
  EXPECT_EQ(steps[0].snapshot->changes[0].document.id, "c");
  EXPECT_EQ(steps[0].snapshot->changes[0].type, DocumentChange::Type::removed);
  EXPECT_EQ(steps[0].snapshot->changes[0].old_index, 2);
}

TEST(WatchFsm, RemoveWithCauseFailsWithTheMappedCode) {
  WatchFsm fsm;
  initial(fsm, {"a"});
  auto msg = target(v1::TargetChange::REMOVE, {kId});
  msg.mutable_target_change()->mutable_cause()->set_code(7);  // PERMISSION_DENIED
  msg.mutable_target_change()->mutable_cause()->set_message("rules say no");
  auto steps = feed(fsm, {msg});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::fail);
  EXPECT_EQ(steps[0].error.code(), errc::permission_denied);
  EXPECT_NE(steps[0].error.message().find("rules say no"), std::string::npos);
}

TEST(WatchFsm, ChangesForOtherTargetsAreIgnoredAndForeignAddFails) {
  WatchFsm fsm;
  initial(fsm, {"a"});
  auto other = change("z", 20);
  other.mutable_document_change()->clear_target_ids();
  other.mutable_document_change()->add_target_ids(kId + 1);
  EXPECT_TRUE(
      feed(fsm, {other, target(v1::TargetChange::CURRENT, {kId + 1}), global(2, "t")}).empty());
  auto steps = feed(fsm, {target(v1::TargetChange::ADD, {kId + 1})});
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].kind, Kind::fail);
  EXPECT_EQ(steps[0].error.code(), errc::protocol_error);
}

TEST(DocumentOrder, FirestoreValueOrder) {
  const std::vector<Value> ascending{Value(),
                                     Value(false),
                                     Value(true),
                                     Value(std::nan("")),
                                     Value(-1.5),
                                     Value(1),
                                     Value(1.5),
                                     Value(2),
                                     Value(Timestamp{5, 0}),
                                     Value("a"),
                                     Value("b"),
                                     Value(Bytes{"a"}),
                                     Value(Reference{kRoot + "a/b"}),
                                     Value(GeoPoint{1, 2}),
                                     Value(Array{Value(1)}),
                                     Value(Map{{"a", Value(1)}})};
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(compare_values(ascending[i], ascending[i + 1]), 0) << i;
    EXPECT_GT(compare_values(ascending[i + 1], ascending[i]), 0) << i;
  }
  EXPECT_EQ(compare_values(Value(2), Value(2.0)), 0);
  EXPECT_LT(compare_values(Value(std::int64_t{9007199254740993}), Value(9007199254740994.0)), 0);
  EXPECT_LT(compare_names("c/a/x/1", "c/a-b"), 0);  // by segment, not by byte
}

}  // namespace
}  // namespace connpool::firestore::detail
