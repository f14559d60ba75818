// Auto-batching against the emulator: concurrent gets and writes that queue behind the RPC in
// flight go out as BatchGetDocuments / BatchWrite, and every caller still gets exactly what its
// own call would have returned. max_in_flight is 1 here so that batches form for certain; the
// RPCs are counted with Client::auto_batch_stats(), not inferred from timing.
#include "fixture.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <future>
#include <set>

namespace connpool::firestore::test {
namespace {

class AutoBatchTest : public FirestoreTest {
 protected:
  void SetUp() override {
    options_.auto_batch.max_in_flight = 1;
    options_.auto_batch.max_batch_size = 20;
    FirestoreTest::SetUp();
  }

  /// Starts every task at once on the io_context and waits for all of them.
  template <class T>
  std::vector<T> all(std::vector<boost::asio::awaitable<T>> tasks) {
    std::vector<std::future<T>> futures;
    futures.reserve(tasks.size());
    for (auto& t : tasks) {
      futures.push_back(boost::asio::co_spawn(io_.io(), std::move(t), boost::asio::use_future));
    }
    std::vector<T> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  void seed(const std::string& collection, int n) {
    std::vector<Write> writes;
    for (int i = 0; i < n; ++i) {
      writes.push_back(Write::set(collection + "/d" + std::to_string(i), Map{{"n", i}}));
    }
    ASSERT_OK(db().commit(std::move(writes)));
  }
};

TEST_F(AutoBatchTest, ConcurrentGetsOfExistingMissingAndDuplicateDocumentsEachGetTheirAnswer) {
  constexpr int kSeeded = 30;
  constexpr int kCalls = 200;
  seed("ab", kSeeded);
  std::vector<Task<std::optional<Document>>> tasks;
  for (int c = 0; c < kCalls; ++c) {
    // d0..d39: d30..d39 do not exist, and each document is asked five times.
    tasks.push_back(client().get_document("ab", "d" + std::to_string(c % 40)));
  }
  const auto results = all(std::move(tasks));
  for (int c = 0; c < kCalls; ++c) {
    const auto& r = results[static_cast<std::size_t>(c)];
    const int i = c % 40;
    ASSERT_TRUE(r) << "call " << c << ": " << r.error().to_string();
    if (i >= kSeeded) {
      EXPECT_FALSE(r->has_value()) << "d" << i << " does not exist";
      continue;
    }
    ASSERT_TRUE(r->has_value()) << "d" << i;
    EXPECT_EQ((*r)->id, "d" + std::to_string(i));
    EXPECT_EQ((*r)->fields, (Map{{"n", i}}));
    EXPECT_GT((*r)->update_time.seconds, 0);
  }
  const auto s = client().auto_batch_stats();
  EXPECT_GT(s.get_batches, 0u);
  EXPECT_GT(s.batched_gets, static_cast<std::uint64_t>(kCalls / 2));
  // 200 gets took far fewer RPCs: the batches, plus the calls that went out alone.
  EXPECT_LT(s.get_batches, static_cast<std::uint64_t>(kCalls / 4));
  EXPECT_EQ(s.write_batches, 0u);
}

TEST_F(AutoBatchTest, ConcurrentWritesOfDistinctAndOfTheSameDocumentAllLand) {
  constexpr int kDistinct = 60;
  constexpr int kSame = 40;
  ASSERT_OK(db().set_document("abw", "counter", Map{{"n", 0}}));
  std::vector<Task<WriteResult>> tasks;
  for (int i = 0; i < kDistinct; ++i) {
    tasks.push_back(client().set_document("abw", "w" + std::to_string(i), Map{{"v", i}}));
    if (i < kSame) {
      // The same document many times: never two of them in one BatchWrite.
      tasks.push_back(
          client().transform_document("abw", "counter", {FieldTransform::increment("n", 1)}));
    }
  }
  const auto results = all(std::move(tasks));
  for (const auto& r : results) ASSERT_TRUE(r) << r.error().to_string();
  for (int i = 0; i < kDistinct; ++i) {
    auto d = db().get_document("abw", "w" + std::to_string(i));
    ASSERT_OK(d);
    ASSERT_TRUE(d->has_value());
    EXPECT_EQ((*d)->fields, (Map{{"v", i}}));
  }
  auto counter = db().get_document("abw", "counter");
  ASSERT_OK(counter);
  ASSERT_TRUE(counter->has_value());
  EXPECT_EQ((*counter)->fields.at("n"), Value(kSame)) << "every increment applied exactly once";
  const auto s = client().auto_batch_stats();
  EXPECT_GT(s.write_batches, 0u);
  EXPECT_GT(s.batched_writes, static_cast<std::uint64_t>(kDistinct / 2));
  // The increments of one document went in successive batches, so there are at least as many
  // RPCs as increments, minus the one sent alone.
  EXPECT_LT(s.write_batches, static_cast<std::uint64_t>(kDistinct + kSame));
}

TEST_F(AutoBatchTest, APreconditionFailureInABatchFailsOnlyItsCaller) {
  ASSERT_OK(db().set_document("abp", "exists", Map{{"v", 0}}));
  std::vector<Task<WriteResult>> tasks;
  constexpr int kSets = 20;
  for (int i = 0; i < kSets; ++i) {
    tasks.push_back(client().set_document("abp", "s" + std::to_string(i), Map{{"v", i}}));
  }
  tasks.push_back(client().create_document("abp", "exists", Map{{"v", 1}}));
  tasks.push_back(client().update_document("abp", "missing", Map{{"v", 2}}));
  tasks.push_back(client().create_document("abp", "fresh", Map{{"v", 3}}));
  const auto results = all(std::move(tasks));
  for (int i = 0; i < kSets; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    EXPECT_TRUE(r) << "set s" << i << ": " << r.error().to_string();
  }
  const auto& dup = results[kSets];
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), errc::already_exists) << dup.error().to_string();
  const auto& missing = results[kSets + 1];
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), errc::not_found) << missing.error().to_string();
  EXPECT_TRUE(results[kSets + 2]) << results[kSets + 2].error().to_string();

  auto exists = db().get_document("abp", "exists");
  ASSERT_OK(exists);
  ASSERT_TRUE(exists->has_value());
  EXPECT_EQ((*exists)->fields, (Map{{"v", 0}})) << "the failed create changed nothing";
  auto n = db().count(Query("abp"));
  ASSERT_OK(n);
  EXPECT_EQ(*n, kSets + 2);  // the sets, "exists" and "fresh"
  EXPECT_GT(client().auto_batch_stats().write_batches, 0u);
}

TEST_F(AutoBatchTest, CancellingOneQueuedGetLeavesTheOthersAnswered) {
  using namespace boost::asio::experimental::awaitable_operators;
  seed("abc", 10);
  // One strand: the cancellation is emitted where the awaiting coroutine runs.
  auto strand = boost::asio::make_strand(io_.io());
  auto task = [](Client c) -> boost::asio::awaitable<int> {
    std::vector<std::future<Result<std::optional<Document>>>> others;
    const auto ex = co_await boost::asio::this_coro::executor;
    for (int i = 0; i < 10; ++i) {
      others.push_back(boost::asio::co_spawn(ex, c.get_document("abc", "d" + std::to_string(i)),
                                             boost::asio::use_future));
    }
    // Let the others start (one goes out alone, the rest queue), then queue one more behind
    // them and cancel it at once.
    co_await boost::asio::post(ex, boost::asio::use_awaitable);
    boost::asio::steady_timer t(ex, std::chrono::milliseconds(0));
    auto r = co_await (c.get_document("abc", "d3") || t.async_wait(boost::asio::use_awaitable));
    int answered = 0;
    for (auto& f : others) {
      // Polled, not blocked on: the strand must keep running the others.
      while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        boost::asio::steady_timer w(ex, std::chrono::milliseconds(2));
        co_await w.async_wait(boost::asio::use_awaitable);
      }
      auto d = f.get();
      if (d && d->has_value()) ++answered;
    }
    co_return r.index() == 1 ? answered : -answered;
  };
  const auto answered =
      boost::asio::co_spawn(strand, task(client()), boost::asio::use_future).get();
  EXPECT_EQ(answered, 10) << "negative: the cancelled get won the race (its timer did not)";
}

TEST_F(AutoBatchTest, OneCallerAtATimeNeverBatches) {
  seed("ab1", 3);
  for (int i = 0; i < 3; ++i) {
    auto d = db().get_document("ab1", "d" + std::to_string(i));
    ASSERT_OK(d);
    ASSERT_TRUE(d->has_value());
    ASSERT_OK(db().set_document("ab1", "w" + std::to_string(i), Map{{"v", i}}));
  }
  const auto s = client().auto_batch_stats();
  EXPECT_EQ(s.get_batches + s.batched_gets + s.write_batches + s.batched_writes, 0u);
}

class AutoBatchOffTest : public AutoBatchTest {
 protected:
  void SetUp() override {
    options_.auto_batch.enabled = false;
    FirestoreTest::SetUp();
  }
};

TEST_F(AutoBatchOffTest, TurnedOffEveryCallIsItsOwnRpc) {
  seed("ab0", 10);
  std::vector<Task<std::optional<Document>>> tasks;
  for (int c = 0; c < 40; ++c)
    tasks.push_back(client().get_document("ab0", "d" + std::to_string(c % 10)));
  for (const auto& r : all(std::move(tasks))) {
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->has_value());
  }
  const auto s = client().auto_batch_stats();
  EXPECT_EQ(s.get_batches + s.batched_gets, 0u);
}

}  // namespace
}  // namespace connpool::firestore::test
