// Transactions: read-then-write, rollback on the function's error, and a real conflict that is
// retried automatically.
#include "fixture.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>

namespace connpool::firestore::test {
namespace {

using TransactionsTest = FirestoreTest;
using boost::asio::awaitable;

TEST_F(TransactionsTest, ReadThenWriteCommits) {
  ASSERT_OK(db().set_document("acct", "a", Map{{"balance", 100}}));
  ASSERT_OK(db().set_document("acct", "b", Map{{"balance", 5}}));
  auto r = db().run_transaction([](Transaction& tx) -> awaitable<Result<void>> {
    auto a = co_await tx.get_document("acct", "a");
    if (!a) co_return std::move(a).error();
    auto b = co_await tx.get_document("acct", "b");
    if (!b) co_return std::move(b).error();
    const auto ab = (*a)->fields.at("balance").as<std::int64_t>();
    const auto bb = (*b)->fields.at("balance").as<std::int64_t>();
    tx.update("acct", "a", Map{{"balance", ab - 30}});
    tx.update("acct", "b", Map{{"balance", bb + 30}});
    tx.create("log", "t1", Map{{"amount", 30}});
    co_return ok();
  });
  ASSERT_OK(r);
  EXPECT_EQ(db().get_document("acct", "a")->value().fields.at("balance"), Value(70));
  EXPECT_EQ(db().get_document("acct", "b")->value().fields.at("balance"), Value(35));
  EXPECT_TRUE(db().get_document("log", "t1")->has_value());
}

TEST_F(TransactionsTest, QueryInsideTransaction) {
  ASSERT_OK(db().set_document("jobs", "j1", Map{{"state", "new"}}));
  ASSERT_OK(db().set_document("jobs", "j2", Map{{"state", "new"}}));
  ASSERT_OK(db().run_transaction([](Transaction& tx) -> awaitable<Result<void>> {
    auto fresh = co_await tx.run_query(Query("jobs").where("state", "==", "new"));
    if (!fresh) co_return std::move(fresh).error();
    for (const auto& d : *fresh) tx.update("jobs", d.id, Map{{"state", "taken"}});
    co_return ok();
  }));
  EXPECT_EQ(*db().count(Query("jobs").where("state", "==", "taken")), 2);
}

TEST_F(TransactionsTest, FunctionErrorRollsBackAndIsReturned) {
  ASSERT_OK(db().set_document("c", "x", Map{{"v", 1}}));
  auto r = db().run_transaction([](Transaction& tx) -> awaitable<Result<void>> {
    tx.set("c", "x", Map{{"v", 2}});
    co_return fail(errc::failed_precondition, "business rule says no");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::failed_precondition);
  EXPECT_EQ(r.error().message(), "business rule says no");
  EXPECT_EQ(db().get_document("c", "x")->value().fields.at("v"), Value(1));
  // The read lock is gone: a plain write goes through at once.
  ASSERT_OK(db().set_document("c", "x", Map{{"v", 3}}));

  auto bad = db().run_transaction([](Transaction& tx) -> awaitable<Result<void>> {
    tx.set("c", "a/b", Map{});
    co_return ok();
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
  EXPECT_NE(bad.error().message().find("\"a/b\""), std::string::npos);
}

// Two transactions both read the counter before either writes: they cannot both commit on what
// they read. Firestore (and its emulator, which locks pessimistically) aborts one of them with
// ABORTED; run_transaction must retry it, so both increments land.
TEST_F(TransactionsTest, ConflictIsRetriedAutomatically) {
  ASSERT_OK(db().set_document("counters", "c", Map{{"n", 0}}));
  std::atomic<int> runs{0};
  std::atomic<int> first_reads{0};
  auto increment = [&runs, &first_reads](Transaction& tx) -> awaitable<Result<void>> {
    ++runs;
    auto d = co_await tx.get_document("counters", "c");
    if (!d) co_return std::move(d).error();
    if (tx.attempt() == 1) {
      // Barrier: wait until the other transaction has read too (bounded: 20 s).
      ++first_reads;
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
      for (int i = 0; i < 4000 && first_reads.load() < 2; ++i) {
        t.expires_after(std::chrono::milliseconds(5));
        co_await t.async_wait(boost::asio::use_awaitable);
      }
    }
    tx.update("counters", "c", Map{{"n", (*d)->fields.at("n").as<std::int64_t>() + 1}});
    co_return ok();
  };
  auto a =
      boost::asio::co_spawn(io_.io(), client().run_transaction(increment), boost::asio::use_future);
  auto b =
      boost::asio::co_spawn(io_.io(), client().run_transaction(increment), boost::asio::use_future);
  auto ra = a.get();
  auto rb = b.get();
  ASSERT_OK(ra);
  ASSERT_OK(rb);
  EXPECT_EQ(first_reads.load(), 2);
  EXPECT_GE(runs.load(), 3) << "neither transaction was retried";
  EXPECT_EQ(db().get_document("counters", "c")->value().fields.at("n"), Value(2));
}

TEST_F(TransactionsTest, ConcurrentIncrementsAllLand) {
  ASSERT_OK(db().set_document("counters", "hot", Map{{"n", 0}}));
  // Four writers on one document deadlock on the emulator's locks again and again (each ABORTED
  // commit waits for its lock timeout); give them more attempts than the default 5 so the test
  // checks correctness, not luck under a loaded machine.
  auto opts = options_;
  opts.transaction_max_attempts = 30;
  auto patient = Client::create(io_.io().get_executor(), opts);
  ASSERT_OK(patient);
  auto pdb = patient->blocking();
  constexpr int kWorkers = 4;
  constexpr int kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto r = pdb.run_transaction([](Transaction& tx) -> awaitable<Result<void>> {
          auto d = co_await tx.get_document("counters", "hot");
          if (!d) co_return std::move(d).error();
          tx.update("counters", "hot", Map{{"n", (*d)->fields.at("n").as<std::int64_t>() + 1}});
          co_return ok();
        });
        if (!r) {
          ++failures;
          ADD_FAILURE() << r.error().to_string();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db().get_document("counters", "hot")->value().fields.at("n"), Value(kWorkers * kEach));
}

}  // namespace
}  // namespace connpool::firestore::test
