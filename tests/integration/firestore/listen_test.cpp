// Real-time listeners against the emulator: document and query listeners see other clients'
// writes in order; a stream reset under an open listener (fault proxy) resumes without losing or
// repeating a change; a slow consumer gets a clear error; many listeners share one pool.
#include "fixture.hpp"
#include "support/fault_proxy.hpp"

#include <chrono>
#include <future>
#include <map>
#include <set>

namespace connpool::firestore::test {
namespace {

using namespace std::chrono_literals;

class ListenTest : public FirestoreTest {
 protected:
  /// The next snapshot, waiting at most `limit` (then the listener is closed: a test failure
  /// must not hang). close() is thread-safe; no cancellation signal crosses threads.
  Result<Snapshot> next(Listener& l, std::chrono::seconds limit = 30s) {
    auto fut = boost::asio::co_spawn(io_.io(), l.next(), boost::asio::use_future);
    if (fut.wait_for(limit) != std::future_status::ready) {
      l.close();
      ADD_FAILURE() << "no snapshot within " << limit.count() << " s";
    }
    return fut.get();
  }

  /// A second client on its own pool: "another client" making the writes.
  BlockingClient writer() {
    if (!writer_) {
      auto c = Client::create(io_.io().get_executor(), options_);
      EXPECT_TRUE(c) << c.error().to_string();
      writer_.emplace(*c);
    }
    return writer_->blocking();
  }

  /// Sets {n}. The emulator sometimes fails a Commit with CANCELLED ("call already cancelled"):
  /// notifying a Listen stream that was just cancelled (a proxy reset, a relisten) throws into
  /// the write. The write may have landed or not: read it back and write again only if not.
  void set_surely(const std::string& collection, const std::string& id, std::int64_t n) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto r = writer().set_document(collection, id, Map{{"n", n}});
      if (r) return;
      ASSERT_EQ(r.error().code(), errc::cancelled) << r.error().to_string();
      auto d = writer().get_document(collection, id);
      ASSERT_OK(d);
      if (d->has_value() && (*d)->fields == Map{{"n", n}}) return;
    }
    FAIL() << "set " << collection << "/" << id << " was cancelled 5 times";
  }

  void TearDown() override {
    if (writer_) writer_->pool().close_blocking(5s);
    FirestoreTest::TearDown();
  }

  std::optional<Client> writer_;
};

std::string describe(const DocumentChange& c) {
  const char* t = c.type == DocumentChange::Type::added      ? "added"
                  : c.type == DocumentChange::Type::modified ? "modified"
                                                             : "removed";
  std::string s = std::string(t) + " " + c.document.id;
  if (const auto* n = c.document.get("n")) s += "=" + std::to_string(n->as<std::int64_t>());
  return s;
}

TEST_F(ListenTest, DocumentListenerSeesCreateUpdateDeleteInOrder) {
  auto l = client().listen(DocumentRef::at("watched", "doc"));
  ASSERT_OK(l);
  auto first = next(*l);
  ASSERT_OK(first);
  EXPECT_TRUE(first->documents.empty());
  EXPECT_TRUE(first->changes.empty());

  ASSERT_OK(writer().create_document("watched", "doc", Map{{"n", 1}}));
  auto s1 = next(*l);
  ASSERT_OK(s1);
  ASSERT_EQ(s1->changes.size(), 1U);
  EXPECT_EQ(describe(s1->changes[0]), "added doc=1");
  EXPECT_EQ(s1->changes[0].new_index, 0);
  ASSERT_EQ(s1->documents.size(), 1U);
  EXPECT_EQ(s1->documents[0].path(), "watched/doc");
  EXPECT_GE(s1->read_time, first->read_time);

  ASSERT_OK(writer().update_document("watched", "doc", Map{{"n", 2}}));
  auto s2 = next(*l);
  ASSERT_OK(s2);
  ASSERT_EQ(s2->changes.size(), 1U);
  EXPECT_EQ(describe(s2->changes[0]), "modified doc=2");
  EXPECT_EQ(s2->changes[0].old_index, 0);
  EXPECT_EQ(s2->changes[0].new_index, 0);

  // Another document in the collection is not this listener's business.
  ASSERT_OK(writer().set_document("watched", "other", Map{{"n", 9}}));
  ASSERT_OK(writer().delete_document("watched", "doc"));
  auto s3 = next(*l);
  ASSERT_OK(s3);
  ASSERT_EQ(s3->changes.size(), 1U);
  EXPECT_EQ(describe(s3->changes[0]), "removed doc=2");
  EXPECT_TRUE(s3->documents.empty());

  l->close();
  auto after = next(*l);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), errc::cancelled);
}

TEST_F(ListenTest, QueryListenerSeesDocumentsEnterAndLeaveTheResult) {
  ASSERT_OK(writer().set_document("items", "a", Map{{"n", 5}}));
  ASSERT_OK(writer().set_document("items", "b", Map{{"n", 50}}));
  Query q("items");
  q.where("n", ">=", Value(10)).order_by("n", Direction::descending);
  auto l = client().listen(q);
  ASSERT_OK(l);
  auto s0 = next(*l);
  ASSERT_OK(s0);
  ASSERT_EQ(s0->documents.size(), 1U);
  EXPECT_EQ(s0->documents[0].id, "b");

  ASSERT_OK(writer().update_document("items", "a", Map{{"n", 60}}));  // enters, sorts first
  auto s1 = next(*l);
  ASSERT_OK(s1);
  ASSERT_EQ(s1->changes.size(), 1U);
  EXPECT_EQ(describe(s1->changes[0]), "added a=60");
  EXPECT_EQ(s1->changes[0].new_index, 0);
  ASSERT_EQ(s1->documents.size(), 2U);
  EXPECT_EQ(s1->documents[1].id, "b");

  ASSERT_OK(writer().update_document("items", "b", Map{{"n", 1}}));  // leaves
  auto s2 = next(*l);
  ASSERT_OK(s2);
  ASSERT_EQ(s2->changes.size(), 1U);
  EXPECT_EQ(s2->changes[0].type, DocumentChange::Type::removed);
  EXPECT_EQ(s2->changes[0].document.id, "b");
  EXPECT_EQ(s2->changes[0].old_index, 1);
  ASSERT_EQ(s2->documents.size(), 1U);
  EXPECT_EQ(s2->documents[0].id, "a");
}

// The listener's channel goes through a proxy that resets every connection a few times while
// another client keeps writing: the listener reconnects, resumes from its token, and every write
// shows up exactly once, in order.
//
// Issue 19: this test was disabled after passing 19 of 20 runs and then stalling 60 s and
// aborting in ListenerImpl::close(). The cause: the stuck-read grace timer's handler cancelled a
// call that had already ended and been freed (ReadQueueTest.TheGraceTimerNeverCancels...).
TEST_F(ListenTest, StreamResetWhileWritesContinueResumesWithoutLossOrRepeat) {
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator_->port()));
  FirestoreOptions via = options_;
  via.emulator_host = "127.0.0.1:" + std::to_string(proxy.port());
  auto lc = Client::create(io_.io().get_executor(), via);
  ASSERT_OK(lc);
  ListenOptions lo;
  lo.max_buffered_snapshots = 1000;
  lo.reconnect.initial = 20ms;
  lo.reconnect.max = 500ms;
  auto l = lc->listen(Query("log"), lo);
  ASSERT_OK(l);

  constexpr int kDocs = 30;
  std::map<std::string, std::int64_t> model;  // what the snapshots say, change by change
  std::vector<std::string> problems;
  std::int64_t counter_seen = -1;
  auto apply = [&](const Snapshot& s) {
    for (const auto& c : s.changes) {
      const auto n = c.document.get("n")->as<std::int64_t>();
      if (c.type == DocumentChange::Type::added) {
        if (model.count(c.document.id)) problems.push_back("added twice: " + describe(c));
        model[c.document.id] = n;
      } else if (c.type == DocumentChange::Type::modified) {
        if (!model.count(c.document.id)) problems.push_back("modified unseen: " + describe(c));
        if (model[c.document.id] >= n) problems.push_back("not increasing: " + describe(c));
        model[c.document.id] = n;
      } else {
        problems.push_back("unexpected " + describe(c));
      }
      if (c.document.id == "counter") counter_seen = n;
    }
  };
  auto initial = next(*l);  // empty: the listener is current
  ASSERT_OK(initial);
  apply(*initial);
  auto reader = std::async(std::launch::async, [&] {
    // Reads until the final state is seen (or a failure): counter = kDocs and every doc.
    while (counter_seen < kDocs || model.size() < kDocs + 1) {
      auto s = next(*l, 60s);
      if (!s) return s.error().to_string();
      apply(*s);
    }
    return std::string();
  });
  for (int i = 1; i <= kDocs; ++i) {
    ASSERT_NO_FATAL_FAILURE(set_surely("log", "d" + std::to_string(i), i));
    ASSERT_NO_FATAL_FAILURE(set_surely("log", "counter", i));
    if (i % 10 == 5) proxy.reset_all();  // three resets while writes go on
    std::this_thread::sleep_for(10ms);
  }
  const auto status = reader.get();
  EXPECT_EQ(status, "");
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  EXPECT_EQ(model.size(), static_cast<std::size_t>(kDocs + 1));
  EXPECT_EQ(counter_seen, kDocs);
  EXPECT_GE(l->reconnects(), 1U) << "the proxy reset did not break the stream";
  l->close();
  lc->pool().close_blocking(5s);
}

TEST_F(ListenTest, SlowConsumerGetsAnOverflowErrorNotUnboundedMemory) {
  ListenOptions lo;
  lo.max_buffered_snapshots = 2;
  auto l = client().listen(Query("burst"), lo);
  ASSERT_OK(l);
  // Nobody reads while 20 separate writes each produce a snapshot.
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(writer().set_document("burst", "d" + std::to_string(i), Map{{"n", i}}));
    std::this_thread::sleep_for(30ms);
  }
  int delivered = 0;
  Result<Snapshot> s = next(*l);
  while (s) {
    ++delivered;
    s = next(*l);
  }
  EXPECT_LE(delivered, 2);
  EXPECT_EQ(s.error().code(), errc::resource_exhausted) << s.error().to_string();
  EXPECT_NE(s.error().message().find("max_buffered_snapshots"), std::string::npos);
}

TEST_F(ListenTest, ManyListenersShareOnePoolAndTheCapHolds) {
  constexpr int kListeners = 50;
  std::vector<Listener> ls;
  for (int i = 0; i < kListeners; ++i) {
    auto l = client().listen(DocumentRef::at("many", "d" + std::to_string(i)));
    ASSERT_OK(l);
    ls.push_back(std::move(*l));
  }
  for (auto& l : ls) ASSERT_OK(next(l));
  // Each listener holds one shared lease on the pool's channels.
  const auto stats = client().pool().stats();
  EXPECT_EQ(stats.leases, static_cast<std::size_t>(kListeners));
  EXPECT_LE(stats.total, 4U);

  std::vector<Write> writes;
  for (int i = 0; i < kListeners; ++i) {
    writes.push_back(Write::set("many/d" + std::to_string(i), Map{{"n", i}}));
  }
  ASSERT_OK(writer().commit(std::move(writes)));
  for (int i = 0; i < kListeners; ++i) {
    auto s = next(ls[i]);
    ASSERT_OK(s);
    ASSERT_EQ(s->changes.size(), 1U);
    EXPECT_EQ(describe(s->changes[0]), "added d" + std::to_string(i) + "=" + std::to_string(i));
  }
  for (auto& l : ls) l.close();
}

TEST_F(ListenTest, PerPoolCapOnOpenListeners) {
  FirestoreOptions capped = options_;
  capped.max_listeners = 2;
  auto c = Client::create(io_.io().get_executor(), capped);
  ASSERT_OK(c);
  auto a = c->listen(DocumentRef::at("cap", "a"));
  auto b = c->listen(DocumentRef::at("cap", "b"));
  ASSERT_OK(a);
  ASSERT_OK(b);
  auto third = c->listen(DocumentRef::at("cap", "c"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), errc::resource_exhausted);
  a->close();
  auto again = c->listen(DocumentRef::at("cap", "c"));
  ASSERT_OK(again);
  ASSERT_OK(next(*again));
  again->close();
  b->close();
  c->pool().close_blocking(5s);
}

TEST_F(ListenTest, BadTargetsAreRefusedBeforeAnyRpc) {
  auto bad = client().listen(DocumentRef{"no-id"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
  Query q("c");
  q.order_by("n").limit_to_last(3);
  auto last = client().listen(q);
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace connpool::firestore::test
