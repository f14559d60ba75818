// BulkWriter against the emulator: many writes in several batches, per-write failures reported
// per write while the rest succeed, the rate limit pacing, and retries across a broken channel.
#include "fixture.hpp"
#include "support/fault_proxy.hpp"

#include <chrono>
#include <thread>

namespace connpool::firestore::test {
namespace {

using namespace std::chrono_literals;

class BulkWriterTest : public FirestoreTest {
 protected:
  Result<std::vector<BulkWriteResult>> flush(BulkWriter& w) { return run(w.flush()); }
};

BulkWriterOptions unlimited() {
  BulkWriterOptions o;
  o.rate_limit = false;  // the emulator needs no ramp-up
  return o;
}

TEST_F(BulkWriterTest, ManyWritesInSeveralBatchesAllLandAndReadBackIdentical) {
  auto w = client().bulk_writer(unlimited());
  constexpr int kDocs = 600;  // two BatchWrite requests (500 + 100)
  for (int i = 0; i < kDocs; ++i) {
    EXPECT_EQ(w.add(Write::set("bulk/d" + std::to_string(i),
                               Map{{"i", i}, {"s", "v" + std::to_string(i)}})),
              static_cast<std::size_t>(i));
  }
  EXPECT_EQ(w.pending(), static_cast<std::size_t>(kDocs));
  auto r = flush(w);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), static_cast<std::size_t>(kDocs));
  for (int i = 0; i < kDocs; ++i) {
    const auto& one = (*r)[static_cast<std::size_t>(i)];
    EXPECT_EQ(one.index, static_cast<std::size_t>(i));
    ASSERT_TRUE(one.result) << one.result.error().to_string();
    EXPECT_EQ(one.attempts, 1);
    EXPECT_GT(one.result->update_time.seconds, 0);
  }
  EXPECT_EQ(w.pending(), 0U);
  auto n = db().count(Query("bulk"));
  ASSERT_OK(n);
  EXPECT_EQ(*n, kDocs);
  auto d = db().get_document("bulk", "d577");
  ASSERT_OK(d);
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->fields, (Map{{"i", 577}, {"s", "v577"}}));
}

TEST_F(BulkWriterTest, PerWriteFailuresAreReportedPerWriteWhileTheRestSucceed) {
  ASSERT_OK(db().set_document("pw", "exists", Map{{"v", 1}}));
  auto w = client().bulk_writer(unlimited());
  const auto ok1 = w.add(Write::set("pw/a", Map{{"v", 1}}));
  const auto dup = w.add(Write::create("pw/exists", Map{{"v", 2}}));  // already exists
  const auto ok2 = w.add(Write::set("pw/b", Map{{"v", 2}}));
  const auto missing = w.add(Write::update("pw/missing", Map{{"v", 3}}));  // must exist
  const auto bad = w.add(Write::set("pw/a/b", Map{}));                     // not a document path
  const auto ok3 = w.add(Write::remove("pw/gone"));
  auto r = flush(w);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 6U);
  for (auto i : {ok1, ok2, ok3}) {
    EXPECT_TRUE((*r)[i].result) << i << ": " << (*r)[i].result.error().to_string();
  }
  ASSERT_FALSE((*r)[dup].result);
  EXPECT_EQ((*r)[dup].result.error().code(), errc::already_exists);
  EXPECT_EQ((*r)[dup].attempts, 1);  // not retryable
  ASSERT_FALSE((*r)[missing].result);
  EXPECT_EQ((*r)[missing].result.error().code(), errc::not_found);
  ASSERT_FALSE((*r)[bad].result);
  EXPECT_EQ((*r)[bad].result.error().code(), errc::invalid_argument);
  EXPECT_EQ((*r)[bad].attempts, 0);  // refused before any RPC
  // The good writes landed, the failed ones changed nothing.
  auto a = db().get_document("pw", "a");
  ASSERT_OK(a);
  EXPECT_TRUE(a->has_value());
  auto e = db().get_document("pw", "exists");
  ASSERT_OK(e);
  EXPECT_EQ((*e)->fields, (Map{{"v", 1}}));
}

TEST_F(BulkWriterTest, RateLimitPacesTheBatches) {
  BulkWriterOptions o;
  o.initial_ops_per_second = 100;
  o.max_ops_per_second = 100;
  o.max_batch_size = 50;
  auto w = client().bulk_writer(o);
  for (int i = 0; i < 300; ++i) w.add(Write::set("paced/d" + std::to_string(i), Map{{"i", i}}));
  const auto start = std::chrono::steady_clock::now();
  auto r = flush(w);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_OK(r);
  for (const auto& one : *r) ASSERT_TRUE(one.result) << one.result.error().to_string();
  // A full bucket (100) goes at once, the other 200 at 100/s: at least ~2 s (a lower bound
  // only: a loaded machine makes it slower, never faster).
  EXPECT_GE(took, 1900ms);
}

TEST_F(BulkWriterTest, WritesFailingWithUnavailableAreRetriedWithBackoff) {
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator_->port()));
  FirestoreOptions via = options_;
  via.emulator_host = "127.0.0.1:" + std::to_string(proxy.port());
  via.retry.max_attempts = 1;  // no retries below the writer's own
  auto c = Client::create(io_.io().get_executor(), via);
  ASSERT_OK(c);
  ASSERT_OK(c->blocking().set_document("retry", "warm", Map{}));  // a connected channel
  auto o = unlimited();
  o.retry.initial = 50ms;
  o.retry.max = 1s;
  auto w = c->bulk_writer(o);
  for (int i = 0; i < 20; ++i) w.add(Write::set("retry/d" + std::to_string(i), Map{{"i", i}}));
  // Break the connection and refuse new ones for a while: the first attempts fail UNAVAILABLE.
  proxy.refuse(true);
  proxy.reset_all();
  std::thread heal([&] {
    std::this_thread::sleep_for(700ms);
    proxy.refuse(false);
  });
  auto r = flush(w);
  heal.join();
  ASSERT_OK(r);
  int retried = 0;
  for (const auto& one : *r) {
    ASSERT_TRUE(one.result) << one.result.error().to_string();
    if (one.attempts > 1) ++retried;
  }
  EXPECT_EQ(retried, 20) << "the writes should have needed a second attempt";
  auto n = db().count(Query("retry"));
  ASSERT_OK(n);
  EXPECT_EQ(*n, 21);
  c->pool().close_blocking(5s);
}

TEST_F(BulkWriterTest, CloseFlushesThenRefusesAndBadOptionsAreNamed) {
  auto w = client().bulk_writer(unlimited());
  w.add(Write::set("cl/a", Map{}));
  auto r = run(w.close());
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1U);
  EXPECT_TRUE((*r)[0].result);
  const auto late = w.add(Write::set("cl/b", Map{}));
  auto r2 = flush(w);
  ASSERT_OK(r2);
  ASSERT_EQ(r2->size(), 1U);
  EXPECT_EQ((*r2)[0].index, late);
  EXPECT_FALSE((*r2)[0].result);

  BulkWriterOptions bad;
  bad.max_batch_size = 501;
  auto w2 = client().bulk_writer(bad);
  auto r3 = flush(w2);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().code(), errc::invalid_argument);
  EXPECT_NE(r3.error().message().find("max_batch_size"), std::string::npos);
}

}  // namespace
}  // namespace connpool::firestore::test
