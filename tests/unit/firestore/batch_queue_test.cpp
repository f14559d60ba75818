// Auto-batching's queueing logic (firestore/batch/batch_queue.hpp), driven without gRPC: when a
// call goes out alone, what a batch holds, duplicates merged (gets) or deferred (writes), and
// that nothing queued is ever left without an RPC in flight whose end will send it.
#include "firestore/batch/batch_queue.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace connpool::firestore::detail {
namespace {

struct E {
  std::string key;
  int id = 0;
};

std::vector<int> ids(const std::vector<E>& batch) {
  std::vector<int> out;
  for (const auto& e : batch) out.push_back(e.id);
  return out;
}

TEST(BatchQueueTest, CallsGoOutAloneBelowTheLimitAndQueueAtIt) {
  BatchQueue<E> q(2, 100, Duplicates::merge);
  EXPECT_TRUE(q.try_send_alone());
  EXPECT_TRUE(q.try_send_alone());
  EXPECT_EQ(q.in_flight(), 2u);
  EXPECT_FALSE(q.try_send_alone());
  q.enqueue({"a", 1});
  EXPECT_FALSE(q.try_send_alone());
  q.enqueue({"b", 2});
  EXPECT_EQ(q.queued(), 2u);
  // One RPC ends: everything queued goes out as one batch, in queue order, counted in flight.
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{1, 2}));
  EXPECT_EQ(q.in_flight(), 2u);
  EXPECT_EQ(q.queued(), 0u);
  // Nothing waits: ends only free slots.
  EXPECT_TRUE(q.finish().empty());
  EXPECT_TRUE(q.finish().empty());
  EXPECT_EQ(q.in_flight(), 0u);
  EXPECT_TRUE(q.try_send_alone());  // a lone caller is one RPC again
}

TEST(BatchQueueTest, ABatchHoldsAtMostMaxBatchDistinctKeysTheRestWaitsInOrder) {
  BatchQueue<E> q(1, 3, Duplicates::merge);
  ASSERT_TRUE(q.try_send_alone());
  for (int i = 0; i < 7; ++i) q.enqueue({"k" + std::to_string(i), i});
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{6}));
  EXPECT_TRUE(q.finish().empty());
  EXPECT_EQ(q.in_flight(), 0u);
}

TEST(BatchQueueTest, ReadsOfTheSameDocumentJoinOneBatchEvenWhenItIsFull) {
  BatchQueue<E> q(1, 2, Duplicates::merge);
  ASSERT_TRUE(q.try_send_alone());
  q.enqueue({"a", 1});
  q.enqueue({"b", 2});
  q.enqueue({"a", 3});  // a duplicate: asked once, answered to both
  q.enqueue({"c", 4});  // a third distinct key: next batch
  q.enqueue({"b", 5});
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{1, 2, 3, 5}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{4}));
}

TEST(BatchQueueTest, WritesToTheSameDocumentGoInSuccessiveBatchesInTheirOrder) {
  BatchQueue<E> q(1, 100, Duplicates::defer);
  ASSERT_TRUE(q.try_send_alone());
  q.enqueue({"a", 1});
  q.enqueue({"b", 2});
  q.enqueue({"a", 3});
  q.enqueue({"a", 4});
  q.enqueue({"c", 5});
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{1, 2, 5}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{3}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{4}));
  EXPECT_TRUE(q.finish().empty());
}

TEST(BatchQueueTest, AFullBatchNeverLetsALaterWriteOfADocumentOvertakeAnEarlierOne) {
  BatchQueue<E> q(1, 2, Duplicates::defer);
  ASSERT_TRUE(q.try_send_alone());
  q.enqueue({"a", 1});
  q.enqueue({"b", 2});
  q.enqueue({"c", 3});  // batch full: waits
  q.enqueue({"c", 4});  // must not go before 3
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{1, 2}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{3}));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{4}));
}

TEST(BatchQueueTest, ACancelledCallLeavesTheQueue) {
  BatchQueue<E> q(1, 100, Duplicates::merge);
  ASSERT_TRUE(q.try_send_alone());
  q.enqueue({"a", 1});
  q.enqueue({"b", 2});
  EXPECT_TRUE(q.remove_if([](const E& e) { return e.id == 1; }));
  EXPECT_FALSE(q.remove_if([](const E& e) { return e.id == 1; }));
  EXPECT_EQ(ids(q.finish()), (std::vector<int>{2}));
  EXPECT_FALSE(q.remove_if([](const E& e) { return e.id == 2; }));  // already sent
}

// Random admissions, ends and cancellations: whatever the order, a queued call always has an
// RPC in flight whose end will send it, in flight never exceeds the limit, every call is sent
// exactly once, and one key's writes go out in the order they came.
TEST(BatchQueueTest, RandomScheduleNeverStrandsAQueuedCallAndKeepsEachDocumentsOrder) {
  for (const auto dup : {Duplicates::merge, Duplicates::defer}) {
    std::mt19937 rng(42);
    constexpr std::size_t kLimit = 3;
    BatchQueue<E> q(kLimit, 4, dup);
    std::size_t rpcs = 0;  // RPCs in flight (alone or batches), as the driver sees them
    int next_id = 0;
    std::map<int, int> sent;               // id -> times sent
    std::map<std::string, int> last_sent;  // key -> last id sent (defer: must grow)
    std::vector<int> queued_ids;
    for (int step = 0; step < 20000; ++step) {
      const auto roll = rng() % 10;
      if (roll < 5) {
        const int id = next_id++;
        E e{"k" + std::to_string(rng() % 5), id};
        if (q.try_send_alone()) {
          ++rpcs;
          ++sent[id];
          if (dup == Duplicates::defer) {
            // A call sent alone while an earlier one of its key waits would overtake it; the
            // queue only lets calls go alone while nothing waits.
            ASSERT_EQ(q.queued(), 0u);
          }
        } else {
          queued_ids.push_back(id);
          q.enqueue(std::move(e));
        }
      } else if (roll < 9 && rpcs > 0) {
        --rpcs;
        auto batch = q.finish();
        if (!batch.empty()) ++rpcs;
        std::map<std::string, int> keys;
        for (const auto& e : batch) {
          ++sent[e.id];
          ++keys[e.key];
          if (dup == Duplicates::defer) {
            ASSERT_EQ(keys[e.key], 1) << "two writes to one document in a batch";
            const auto it = last_sent.find(e.key);
            ASSERT_TRUE(it == last_sent.end() || it->second < e.id) << "order of " << e.key;
            last_sent[e.key] = e.id;
          }
        }
      } else if (!queued_ids.empty()) {
        const int id = queued_ids[rng() % queued_ids.size()];
        if (q.remove_if([id](const E& e) { return e.id == id; })) ++sent[id];  // cancelled
      }
      ASSERT_EQ(q.in_flight(), rpcs);
      ASSERT_LE(q.in_flight(), kLimit);
      if (q.queued() > 0) {
        ASSERT_EQ(q.in_flight(), kLimit) << "a queued call with a free slot";
      }
    }
    while (rpcs > 0) {
      --rpcs;
      auto batch = q.finish();
      if (!batch.empty()) ++rpcs;
      for (const auto& e : batch) ++sent[e.id];
    }
    EXPECT_EQ(q.queued(), 0u);
    ASSERT_EQ(sent.size(), static_cast<std::size_t>(next_id));
    for (const auto& [id, n] : sent) ASSERT_EQ(n, 1) << "call " << id;
  }
}

}  // namespace
}  // namespace connpool::firestore::detail
