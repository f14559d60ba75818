// The pooled client when things go wrong: server restart under load, server down, killed and
// paused connections, malformed RESP. Invariants: no crash, no leaked lease, broken
// connections never reused, the pool heals back to min_size.
#include "connpool/redis/client.hpp"

#include "support/redis_fake_server.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

namespace asio = boost::asio;
using connpool::test::FakeServer;
using connpool::test::IoThreads;
using connpool::test::RedisServer;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::unique_ptr<RedisServer> start_server() {
  std::string err;
  auto s = RedisServer::start({}, &err);
  EXPECT_TRUE(s) << err;
  return s;
}

Client make_client(IoThreads& io, const std::string& url) {
  auto c = Client::create(io.executor(), url);
  EXPECT_TRUE(c) << c.error().to_string();
  if (!c) throw std::runtime_error(c.error().to_string());
  return std::move(*c);
}

// Polls `pred` every 20 ms for at most `limit`.
template <class Pred>
bool eventually(Pred pred, milliseconds limit = milliseconds(8000)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

const char* kHealing =
    "min_size=2&max_size=4&acquire_timeout=1s&connect_timeout=300ms&command_timeout=1s&"
    "health_check_interval=100ms&validate_after_idle=0&max_idle_time=1s";

class Resilience : public ::testing::TestWithParam<bool> {
 protected:
  std::string mode() const { return GetParam() ? "&pipeline_auto=on" : "&pipeline_auto=off"; }
  IoThreads io_{2};
};

TEST_P(Resilience, ServerRestartDuringLoadLoop) {
  auto server = start_server();
  ASSERT_TRUE(server);
  Client c = make_client(io_, server->url(kHealing + mode()));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().idle >= 2; }));

  std::atomic<bool> stop{false};
  std::atomic<int> ok_before{0}, ok_after{0}, errors{0};
  std::atomic<bool> restarted{false};
  std::vector<std::future<void>> workers;
  // A named lambda that outlives its coroutines: a coroutine's captures live in the lambda
  // object, so an immediately invoked temporary would leave them dangling (ASan caught it).
  auto worker = [&](int w) -> asio::awaitable<void> {
    const std::string key = "restart:" + std::to_string(w);
    // Bounded in count as well as time.
    for (int i = 0; i < 200000 && !stop.load(); ++i) {
      auto s = co_await c.set(key, "v");
      auto g = co_await c.get(key);
      if (s && g) {
        (restarted.load() ? ok_after : ok_before)++;
      } else {
        errors++;
        asio::steady_timer pause(co_await asio::this_coro::executor, milliseconds(5));
        co_await pause.async_wait(asio::use_awaitable);
      }
    }
  };
  for (int w = 0; w < 8; ++w) {
    workers.push_back(asio::co_spawn(io_.context(), worker(w), asio::use_future));
  }
  ASSERT_TRUE(eventually([&] { return ok_before.load() > 100; }));
  std::string err;
  ASSERT_TRUE(server->restart(&err)) << err;
  restarted = true;
  const bool recovered = eventually([&] { return ok_after.load() > 100; });
  stop = true;
  for (auto& f : workers) f.get();
  EXPECT_TRUE(recovered) << "no successful commands after the restart; errors=" << errors;

  const auto stats = c.pool().stats();
  EXPECT_EQ(stats.leases, 0u) << "a lease leaked";
  EXPECT_GE(stats.closed_total(), 1u) << "the broken connections were not discarded";
  EXPECT_TRUE(eventually([&] {
    const auto s = c.pool().stats();
    return s.total == 2 && s.idle == 2 && s.connecting == 0;
  })) << "pool did not settle back to min_size: total="
      << c.pool().stats().total;
  EXPECT_TRUE(c.wait(c.ping()));
}

TEST_P(Resilience, ServerDownAcquireFailsWithinAcquireTimeout) {
  const auto port = connpool::test::free_loopback_port();
  Client c = make_client(io_, "redis://127.0.0.1:" + std::to_string(port) +
                                  "?acquire_timeout=300ms&connect_timeout=200ms" + mode());
  const auto start = steady_clock::now();
  auto r = c.wait(c.get("k"));
  const auto waited = steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::acquire_timeout) || r.error().is(errc::connect_failed) ||
              r.error().is(errc::circuit_open))
      << r.error().to_string();
  EXPECT_NE(r.error().message().find("refused"), std::string::npos) << r.error().to_string();
  EXPECT_LT(waited, milliseconds(3000)) << "acquire_timeout (300ms) was not honoured";
  EXPECT_EQ(c.pool().stats().leases, 0u);
}

// The reader of each killed connection sees the EOF and tells the pool (RedisConnector::watch):
// the dead idle connections are dropped and replaced without waiting for a health check.
TEST_P(Resilience, KilledConnectionsAreReplacedAtOnce) {
  auto server = start_server();
  ASSERT_TRUE(server);
  Client c = make_client(io_, server->url(std::string(kHealing) + "&client_name=victim" + mode()));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().idle == 2; }));
  const auto created_before = c.pool().stats().created;

  auto admin = make_client(io_, server->url("client_name=admin&pipeline_auto=off"));
  auto killed = admin.wait(admin.command(
      std::vector<std::string>{"CLIENT", "KILL", "USER", "default", "SKIPME", "yes"}));
  ASSERT_TRUE(killed) << killed.error().to_string();
  EXPECT_GE(killed->as_integer(), 2);

  EXPECT_TRUE(eventually([&] {
    const auto s = c.pool().stats();
    return s.created >= created_before + 2 && s.total == 2 && s.idle == 2;
  })) << "killed connections were not replaced";
  const auto s = c.pool().stats();
  EXPECT_GE(s.closed_count(core::CloseReason::broken), 2u);
  EXPECT_GE(s.error_count(errc::io_error), 2u);
  EXPECT_TRUE(c.wait(c.ping()));
}

TEST_P(Resilience, ClientPauseHonoursCommandAndAcquireTimeouts) {
  auto server = start_server();
  ASSERT_TRUE(server);
  Client c = make_client(io_, server->url("command_timeout=200ms&acquire_timeout=500ms&"
                                          "connect_timeout=200ms" +
                                          mode()));
  ASSERT_TRUE(c.wait(c.ping()));
  auto admin = make_client(io_, server->url("pipeline_auto=off"));
  auto paused = admin.wait(admin.command(std::vector<std::string>{"CLIENT", "PAUSE", "1500"}));
  ASSERT_TRUE(paused) << paused.error().to_string();
  const auto start = steady_clock::now();
  auto r = c.wait(c.get("k"));
  const auto waited = steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::timeout) << r.error().to_string();
  EXPECT_LT(waited, milliseconds(1400)) << "timed out only when the pause ended";
  // After the pause the pool hands out a healthy connection again.
  EXPECT_TRUE(eventually([&] { return static_cast<bool>(c.wait(c.ping())); }, milliseconds(5000)));
  EXPECT_EQ(c.pool().stats().leases, 0u);
}

TEST_P(Resilience, MalformedRespDiscardsTheConnection) {
  FakeServer fake("?garbage\r\n");
  Client c = make_client(io_, fake.url("client_name=&health_check_interval=0" + mode()));
  auto r = c.wait(c.get("k"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::protocol_error) << r.error().to_string();
  EXPECT_TRUE(eventually([&] {
    const auto s = c.pool().stats();
    return s.closed_count(core::CloseReason::broken) >= 1 && s.leases == 0 && s.total == 0;
  })) << "the broken connection stayed in the pool";
}

INSTANTIATE_TEST_SUITE_P(AutoPipelining, Resilience, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "on" : "off"; });

}  // namespace
}  // namespace connpool::redis
