// Closing a Client cancels its RPCs in flight and waits for gRPC to complete them, so that the
// io_context can be destroyed right after (issue 19: a late completion posted into a destroyed
// io_context). A FaultProxy in front of the real emulator holds all traffic: the call is in
// flight to a server that never answers.
#include "fixture.hpp"
#include "support/fault_proxy.hpp"

#include <chrono>
#include <future>
#include <thread>

namespace connpool::firestore::test {
namespace {

using std::chrono::milliseconds;

// Options through `proxy`, with a deadline far beyond the test: the calls must end because of
// close(), never because of their deadline; no retries.
FirestoreOptions options_through(const testing::FaultProxy& proxy) {
  FirestoreOptions o;
  o.project_id = project_for_current_test();
  o.emulator_host = "127.0.0.1:" + std::to_string(proxy.port());
  o.call_timeout = milliseconds(60000);
  o.retry.max_attempts = 1;
  return o;
}

TEST(ClientCloseTest, CloseCancelsACallInFlightThenTheIoContextCanGo) {
  auto* emulator = testing::FirestoreEmulator::shared();
  ASSERT_NE(emulator, nullptr) << "the Firestore emulator did not start";
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator->port()));
  FirestoreOptions o = options_through(proxy);
  std::future<Result<std::optional<Document>>> in_flight;
  {
    auto io = std::make_unique<IoThreads>(2);
    auto created = Client::create(io->io().get_executor(), o, default_pool_config());
    ASSERT_TRUE(created) << created.error().to_string();
    std::optional<Client> c(std::move(*created));
    // A working channel first, so the call below really is an RPC on the wire.
    auto warm = c->blocking().get_document("c", "warm");
    ASSERT_TRUE(warm) << warm.error().to_string();

    proxy.stall(true);
    in_flight =
        boost::asio::co_spawn(io->io(), c->get_document("c", "stuck"), boost::asio::use_future);
    // Give the call time to be sent (nothing comes back while the proxy stalls).
    EXPECT_EQ(in_flight.wait_for(milliseconds(300)), std::future_status::timeout);

    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(c->close(milliseconds(5000)), 0u) << "a call was abandoned, not completed";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    ASSERT_EQ(in_flight.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto r = in_flight.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::cancelled) << r.error().to_string();

    // A call after close fails at once instead of hanging.
    auto late = c->blocking().get_document("c", "late");
    ASSERT_FALSE(late);

    c.reset();
    io.reset();  // nothing of the client may post here any more (ASan/TSan would tell)
  }
  proxy.stall(false);
}

// Listeners and streams too: close() stops an open listener (its pending next() fails with
// "the client was closed"), cancels a streamed query the server does not answer, waits for both
// calls to end, and refuses new listeners; then the io_context can go.
TEST(ClientCloseTest, CloseStopsListenersAndStreamsAndWaitsForTheirCalls) {
  auto* emulator = testing::FirestoreEmulator::shared();
  ASSERT_NE(emulator, nullptr) << "the Firestore emulator did not start";
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator->port()));
  FirestoreOptions o = options_through(proxy);
  std::future<Result<Snapshot>> pending;
  std::future<Result<std::vector<Document>>> query;
  {
    auto io = std::make_unique<IoThreads>(2);
    auto created = Client::create(io->io().get_executor(), o, default_pool_config());
    ASSERT_TRUE(created) << created.error().to_string();
    std::optional<Client> c(std::move(*created));
    ASSERT_TRUE(c->blocking().set_document("w", "a", Map{{"n", 1}}));

    auto l = c->listen(Query("w"));
    ASSERT_TRUE(l) << l.error().to_string();
    auto first = boost::asio::co_spawn(io->io(), l->next(), boost::asio::use_future);
    ASSERT_EQ(first.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    auto s = first.get();
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(s->documents.size(), 1u);
    // A consumer waiting for the next snapshot when the client closes.
    pending = boost::asio::co_spawn(io->io(), l->next(), boost::asio::use_future);

    // A streamed RunQuery in flight to a server that does not answer.
    proxy.stall(true);
    query = boost::asio::co_spawn(io->io(), c->run_query(Query("w")), boost::asio::use_future);
    EXPECT_EQ(query.wait_for(milliseconds(300)), std::future_status::timeout);

    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(c->close(milliseconds(5000)), 0u) << "a call was abandoned, not completed";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));

    ASSERT_EQ(pending.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto after = pending.get();
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code(), errc::cancelled) << after.error().to_string();
    EXPECT_NE(after.error().message().find("client was closed"), std::string::npos)
        << after.error().to_string();
    ASSERT_EQ(query.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto q = query.get();
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code(), errc::cancelled) << q.error().to_string();

    auto late = c->listen(Query("w"));
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), errc::cancelled) << late.error().to_string();

    *l = Listener();  // closing it again is a no-op; drops this test's reference
    c.reset();
    io.reset();  // nothing of the client may post here any more (ASan/TSan would tell)
  }
  proxy.stall(false);
}

}  // namespace
}  // namespace connpool::firestore::test
