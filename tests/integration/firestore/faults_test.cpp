// The emulator is killed mid-load: callers get clear UNAVAILABLE errors, nothing crashes, and
// the pool serves again once the emulator is back.
#include "fixture.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>

namespace connpool::firestore::test {
namespace {

using boost::asio::awaitable;

struct LoadCounters {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> other{0};
  std::mutex mu;
  std::string last_other;
};

awaitable<void> load_loop(Client c, LoadCounters& n, int worker) {
  const std::string id = "d" + std::to_string(worker % 4);
  while (!n.stop.load()) {
    auto r = co_await c.get_document("load", id);
    if (r) {
      ++n.ok;
      continue;
    }
    if (r.error().is(errc::unavailable)) {
      ++n.unavailable;
    } else {
      ++n.other;
      std::lock_guard lock(n.mu);
      n.last_other = r.error().to_string();
    }
    // Do not spin while the server is down.
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                std::chrono::milliseconds(20));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
}

TEST(FaultsTest, EmulatorKilledMidLoadThenRestarted) {
  auto emu = testing::FirestoreEmulator::start();
  ASSERT_TRUE(emu) << emu.error().to_string();
  IoThreads io(2);
  FirestoreOptions o;
  o.project_id = "t-faults";
  o.emulator_host = (*emu)->host();
  o.call_timeout = std::chrono::milliseconds(15000);  // a cold JVM can be slow at first
  o.retry.max_attempts = 2;
  auto cfg = default_pool_config();
  cfg.max_size = 2;
  auto c = Client::create(io.io().get_executor(), o, cfg);
  ASSERT_TRUE(c) << c.error().to_string();
  auto seeded = c->blocking().set_document("load", "d0", Map{{"v", 1}});
  ASSERT_TRUE(seeded) << seeded.error().to_string();

  LoadCounters n;
  constexpr int kWorkers = 16;
  std::vector<std::future<void>> done;
  for (int w = 0; w < kWorkers; ++w) {
    done.push_back(boost::asio::co_spawn(io.io(), load_loop(*c, n, w), boost::asio::use_future));
  }
  auto wait_until = [](auto pred, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
  };
  ASSERT_TRUE(wait_until([&] { return n.ok.load() > 200; }, std::chrono::seconds(60)));

  (*emu)->kill();
  EXPECT_TRUE(wait_until([&] { return n.unavailable.load() > 50; }, std::chrono::seconds(60)))
      << "no UNAVAILABLE errors after the kill";
  // While down, a direct call says what is wrong.
  auto down = c->blocking().get_document("load", "d0");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), errc::unavailable) << down.error().to_string();

  ASSERT_TRUE((*emu)->restart()) << "emulator restart failed";
  const int ok_before = n.ok.load();
  EXPECT_TRUE(wait_until([&] { return n.ok.load() > ok_before + 200; }, std::chrono::seconds(60)))
      << "the pool did not recover after the restart";
  n.stop = true;
  for (auto& f : done) f.get();

  EXPECT_EQ(n.other.load(), 0) << "unexpected error kind: " << n.last_other;
  // After recovery, ordinary calls work again (the emulator lost its data: a fresh write).
  ASSERT_TRUE(c->blocking().set_document("load", "after", Map{{"v", 2}}));
  auto after = c->blocking().get_document("load", "after");
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->has_value());
  c->pool().close_blocking(std::chrono::seconds(5));
}

}  // namespace
}  // namespace connpool::firestore::test
