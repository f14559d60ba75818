// 200 concurrent keep-alive clients hit /metrics and the pools JSON for a few seconds while a real
// pool is under load (50 workers on a pool of 10) and a hand-made pool's stats change underneath:
// every response must be a 200 with a valid body. Bounded in time (3 s) and in requests per
// client (500); loopback only.
#include "connpool/core/pool.hpp"

#include "http_test_client.hpp"
#include "monitor_fixture.hpp"
#include "support/monitor_fake_connector.hpp"
#include "support/sanitizer_factor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace connpool::monitor {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

constexpr int kClients = 200;
constexpr int kMaxRequestsPerClient = 500;
constexpr auto kDuration = 3s;

struct Tally {
  std::atomic<long> ok{0};
  std::atomic<long> errors{0};
  std::atomic<long> bad_status{0};
  std::atomic<long> bad_body{0};
  std::atomic<long> reconnects{0};
  std::string first_error;
  std::mutex mutex;
  void error(std::string what) {
    errors.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = std::move(what);
  }
};

asio::awaitable<void> client(std::uint16_t port, int id,
                             std::chrono::steady_clock::time_point deadline, Tally& tally) {
  constexpr auto tok = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  // Per-I/O bound, stretched under sanitizers: under TSan the server answers ~20 requests/s in
  // all, so a client queued behind 199 others waits about 10 s for its turn.
  const auto io_timeout = connpool::test::scaled(10s);
  stream.expires_after(io_timeout);
  if (auto [ec] = co_await stream.async_connect(endpoint, tok); ec) {
    tally.error("connect: " + ec.message());
    co_return;
  }
  beast::flat_buffer buffer;
  for (int i = 0; i < kMaxRequestsPerClient && std::chrono::steady_clock::now() < deadline; ++i) {
    const bool json = (i + id) % 2 == 0;
    http::request<http::empty_body> req{http::verb::get,
                                        json ? "/api/v1/admin/connection-pools" : "/metrics", 11};
    req.set(http::field::host, "127.0.0.1");
    stream.expires_after(io_timeout);
    if (auto [ec, n] = co_await http::async_write(stream, req, tok); ec) {
      tally.error("write: " + ec.message());
      co_return;
    }
    http::response<http::string_body> res;
    if (auto [ec, n] = co_await http::async_read(stream, buffer, res, tok); ec) {
      tally.error("read: " + ec.message());
      co_return;
    }
    if (res.result_int() != 200 || !res.keep_alive()) {
      tally.bad_status.fetch_add(1);
      continue;
    }
    // Parsing every body would make the clients, not the server, the bottleneck: check a sample.
    if (i % 10 == 0) {
      const bool valid = json ? nlohmann::json::accept(res.body())
                              : res.body().find("connection_pool_size{") != std::string::npos;
      if (!valid) tally.bad_body.fetch_add(1);
    }
    tally.ok.fetch_add(1);
  }
}

using LoadPool = core::Pool<connpool::test::MonitorFakeConnector>;

// One worker of the pool under load: acquire, hold ~200 us, release, until told to stop.
asio::awaitable<void> worker(LoadPool& pool, const std::atomic<bool>& stop,
                             std::atomic<long>& ops) {
  asio::steady_timer hold(co_await asio::this_coro::executor);
  while (!stop.load(std::memory_order_relaxed)) {
    auto lease = co_await pool.acquire();
    if (!lease) continue;
    hold.expires_after(200us);
    co_await hold.async_wait(asio::as_tuple(asio::use_awaitable));
    lease->release();
    ops.fetch_add(1, std::memory_order_relaxed);
  }
}

TEST(AdminServerLoad, TwoHundredKeepAliveClients) {
  connpool::test::MonitorFixture f;

  // A real pool under load on its own thread, registered like any application's pool.
  asio::io_context pool_io(1);
  core::PoolConfig config;
  config.min_size = 2;
  config.max_size = 10;
  config.acquire_timeout = 5s;
  core::PoolOptions options;
  options.name = "loaded";
  options.backend = "fake";
  options.observer = f.metrics->make_observer(options.name, options.backend);
  options.logger = [](core::LogLevel, std::string_view) {};
  auto script = std::make_shared<connpool::test::MonitorFakeScript>();
  auto pool = LoadPool::create(pool_io.get_executor(), connpool::test::MonitorFakeConnector(script),
                               config, options);
  ASSERT_TRUE(pool) << pool.error().to_string();
  ASSERT_TRUE(f.pools->add(*pool, "test"));
  std::atomic<bool> stop_workers{false};
  std::atomic<long> pool_ops{0};
  std::atomic<int> workers_done{0};
  constexpr int kWorkers = 50;
  for (int i = 0; i < kWorkers; ++i) {
    asio::co_spawn(pool_io, worker(*pool, stop_workers, pool_ops),
                   [&workers_done](std::exception_ptr) { workers_done.fetch_add(1); });
  }
  std::thread pool_thread([&pool_io] { pool_io.run(); });

  // 200 keep-alive clients at once: above the default cap of 64 (at which idle connections are
  // closed to make room), so this server is sized for them, as a deployment with that many
  // scrapers would be.
  AdminServerOptions admin_options;
  admin_options.max_connections = 256;
  auto server = f.start(admin_options);

  // The hand-made pool: events and state changes from another thread all along.
  std::atomic<bool> stop{false};
  std::thread pool_activity([&] {
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      f.cache_observer->on_acquired(std::chrono::microseconds(n % 700));
      f.cache_observer->on_released(std::chrono::microseconds(n % 5000));
      if (n % 64 == 0) {
        f.cache_stats->update([n](core::PoolStats& s) {
          s.in_use = n % 8;
          s.idle = 8 - n % 8;
          s.utilization = static_cast<double>(n % 8) / 8.0;
        });
      }
      if (n % 1024 == 0) std::this_thread::sleep_for(1ms);
      ++n;
    }
  });

  asio::io_context io(1);
  Tally tally;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + kDuration;
  for (int i = 0; i < kClients; ++i) {
    asio::co_spawn(io, client(server.port(), i, deadline, tally), [&tally](std::exception_ptr e) {
      if (e) tally.error("client threw");
    });
  }
  io.run();  // returns when every client finished (each is bounded in time and count)
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  stop = true;
  pool_activity.join();

  // What the pool reported while being scraped, checked before it stops.
  const auto pool_doc =
      connpool::test::http_get(server.port(), "/api/v1/admin/connection-pools/loaded");
  stop_workers = true;
  const bool workers_finished = [&] {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (workers_done.load() < kWorkers && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(5ms);
    }
    return workers_done.load() == kWorkers;
  }();
  pool->close_now();
  pool_io.stop();
  pool_thread.join();
  f.pools->remove("loaded");
  EXPECT_TRUE(workers_finished);
  ASSERT_EQ(pool_doc.status, 200u);
  const auto pool_json = nlohmann::json::parse(pool_doc.body);
  EXPECT_GT(pool_json["counters"]["acquires"].get<long>(), 0);
  EXPECT_EQ(pool_json["size"]["max"], 10);
  EXPECT_GT(pool_json["wait_seconds"]["count"].get<long>(), 0);
  std::printf("pool under load: %ld acquire/release cycles by %d workers during the test\n",
              pool_ops.load(), kWorkers);

  std::printf("load: %d clients, %ld responses in %.2f s (%.0f req/s), errors=%ld\n", kClients,
              tally.ok.load(), elapsed.count(),
              static_cast<double>(tally.ok.load()) / elapsed.count(), tally.errors.load());
  EXPECT_EQ(tally.errors.load(), 0) << tally.first_error;
  EXPECT_EQ(tally.bad_status.load(), 0);
  EXPECT_EQ(tally.bad_body.load(), 0);
  EXPECT_GE(tally.ok.load(), kClients) << "every client completed at least one request";
  // The server is healthy afterwards.
  EXPECT_EQ(connpool::test::http_get(server.port(), "/healthz").status, 200u);
}

}  // namespace
}  // namespace connpool::monitor
