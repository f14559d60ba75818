// A server that takes longer than the pool's acquire_timeout / connect_timeout to answer its
// first connection (a cold emulator JVM on a loaded machine) must not fail a call that still
// has time (issue 14). Reproduced deterministically: a FaultProxy in front of the real emulator
// holds all traffic for a while, so every connection opens but no handshake can finish.
#include "fixture.hpp"
#include "support/fault_proxy.hpp"
#include "support/sanitizer_factor.hpp"

#include <chrono>
#include <thread>

namespace connpool::firestore::test {
namespace {

using std::chrono::milliseconds;

// Far beyond the short pool limits below and beyond the retry helper's 5 attempts of them.
constexpr milliseconds kStall{3000};

class SlowFirstConnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = testing::FirestoreEmulator::shared();
    ASSERT_NE(emulator_, nullptr) << "the Firestore emulator did not start";
    proxy_ = std::make_unique<testing::FaultProxy>("127.0.0.1",
                                                   static_cast<std::uint16_t>(emulator_->port()));
    proxy_->stall(true);
    FirestoreOptions o;
    o.project_id = project_for_current_test();
    o.emulator_host = "127.0.0.1:" + std::to_string(proxy_->port());
    o.call_timeout = connpool::test::scaled(milliseconds(20000));
    auto cfg = default_pool_config();
    cfg.max_size = 2;
    cfg.acquire_timeout = milliseconds(300);
    cfg.connect_timeout = milliseconds(300);
    auto c = Client::create(io_.io().get_executor(), o, cfg);
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(std::move(*c));
    // Lets traffic through after kStall, from another thread, while the call waits.
    releaser_ = std::thread([p = proxy_.get()] {
      std::this_thread::sleep_for(kStall);
      p->stall(false);
    });
  }
  void TearDown() override {
    if (releaser_.joinable()) releaser_.join();
    if (client_) client_->pool().close_blocking(std::chrono::seconds(5));
  }

  testing::FirestoreEmulator* emulator_ = nullptr;
  std::unique_ptr<testing::FaultProxy> proxy_;
  IoThreads io_;
  std::optional<Client> client_;
  std::thread releaser_;
};

TEST_F(SlowFirstConnectTest, IdempotentCallWaitsForTheFirstChannel) {
  const auto started = std::chrono::steady_clock::now();
  auto r = client_->blocking().get_document("c", "missing");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->has_value());
  // It did wait for the stall (the proxy really held the first connections).
  EXPECT_GE(std::chrono::steady_clock::now() - started, kStall - milliseconds(100));
}

TEST_F(SlowFirstConnectTest, NonIdempotentCallWaitsForTheFirstChannel) {
  // create is never retried by the client: only waiting for the channel can save it.
  auto r = client_->blocking().create_document("c", "new", Map{{"v", 1}});
  ASSERT_TRUE(r) << r.error().to_string();
}

TEST_F(SlowFirstConnectTest, BulkWriterFirstBatchIsNotFailed) {
  // `connpool firestore import` writes through BulkWriter: its first batch must not fail.
  auto writer = client_->bulk_writer();
  for (int i = 0; i < 20; ++i) {
    writer.add(Write::set("c/d" + std::to_string(i), Map{{"i", i}}));
  }
  auto results = boost::asio::co_spawn(io_.io(), writer.close(), boost::asio::use_future).get();
  ASSERT_TRUE(results) << results.error().to_string();
  ASSERT_EQ(results->size(), 20u);
  for (const auto& r : *results) {
    EXPECT_TRUE(r.result) << "write " << r.index << ": " << r.result.error().to_string();
  }
}

}  // namespace
}  // namespace connpool::firestore::test
