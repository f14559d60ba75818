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

TEST(ClientCloseTest, CloseCancelsACallInFlightThenTheIoContextCanGo) {
  auto* emulator = testing::FirestoreEmulator::shared();
  ASSERT_NE(emulator, nullptr) << "the Firestore emulator did not start";
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator->port()));
  FirestoreOptions o;
  o.project_id = project_for_current_test();
  o.emulator_host = "127.0.0.1:" + std::to_string(proxy.port());
  o.call_timeout = milliseconds(60000);  // the call must end by close, not by its deadline
  o.retry.max_attempts = 1;
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

}  // namespace
}  // namespace connpool::firestore::test
